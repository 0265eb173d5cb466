package mx

import (
	"fmt"

	"github.com/mlxgo/mlxgo/mlxgo/safetensors"
)

var fromST = map[safetensors.Dtype]Dtype{
	safetensors.F32: Float32, safetensors.F16: Float16, safetensors.BF16: Bfloat16,
	safetensors.I32: Int32, safetensors.I64: Int64, safetensors.U8: Uint8,
	safetensors.U32: Uint32, safetensors.Bool: Bool,
}

var toST = map[Dtype]safetensors.Dtype{
	Float32: safetensors.F32, Float16: safetensors.F16, Bfloat16: safetensors.BF16,
	Int32: safetensors.I32, Int64: safetensors.I64, Uint8: safetensors.U8,
	Uint32: safetensors.U32, Bool: safetensors.Bool,
}

// LoadSafetensors memory-maps a .safetensors file and returns its tensors and metadata.
// Tensors of a supported dtype reference the mapped file without copying, so a
// multi-gigabyte checkpoint is never held in memory twice; the mapping stays for the
// life of the process. float64 tensors become float32 copies and 8/16-bit integers int32.
func LoadSafetensors(path string) (map[string]*Array, map[string]string, error) {
	f, err := safetensors.Open(path)
	if err != nil {
		return nil, nil, err
	}
	f.Keep()
	out := make(map[string]*Array, f.Len())
	for _, name := range f.Names() {
		info, _ := f.Info(name)
		raw := f.Bytes(name)
		if dt, ok := fromST[info.Dtype]; ok {
			out[name] = fromExternal(raw, info.Shape, dt, f)
			continue
		}
		a, err := convertST(info, raw)
		if err != nil {
			return nil, nil, fmt.Errorf("%s: tensor %q: %w", path, name, err)
		}
		out[name] = a
	}
	return out, f.Metadata(), nil
}

// ReadSafetensors is LoadSafetensors with every tensor copied into the backend's
// own memory, one after another, each tensor's file pages given back once it is
// copied (so the process holds about one copy at any time), and the file
// closed at the end. The CPU backend keeps large arrays on huge pages, where a
// training step's products read a frozen weight a strip of columns at a time:
// from the mapped file's 4 KiB pages the same step ran 20% slower (smollm135
// shape, batch 4×128: 366–392 against 447–486 tokens/s).
func ReadSafetensors(path string) (map[string]*Array, map[string]string, error) {
	f, err := safetensors.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	out := make(map[string]*Array, f.Len())
	for _, name := range f.Names() {
		info, _ := f.Info(name)
		raw := f.Bytes(name)
		if dt, ok := fromST[info.Dtype]; ok {
			out[name] = FromBytes(raw, info.Shape, dt)
		} else if out[name], err = convertST(info, raw); err != nil {
			return nil, nil, fmt.Errorf("%s: tensor %q: %w", path, name, err)
		}
		f.Release(name)
	}
	return out, f.Metadata(), nil
}

func convertST(info safetensors.TensorInfo, raw []byte) (*Array, error) {
	n := int(info.NumElements())
	switch info.Dtype {
	case safetensors.F64:
		v := viewAsUnaligned64(raw)
		f := make([]float32, n)
		for i := range f {
			f[i] = float32(v(i))
		}
		return FromSlice(f, info.Shape...), nil
	case safetensors.I8, safetensors.I16, safetensors.U16:
		v := make([]int32, n)
		for i := range v {
			switch info.Dtype {
			case safetensors.I8:
				v[i] = int32(int8(raw[i]))
			case safetensors.I16:
				v[i] = int32(int16(uint16(raw[2*i]) | uint16(raw[2*i+1])<<8))
			default:
				v[i] = int32(uint16(raw[2*i]) | uint16(raw[2*i+1])<<8)
			}
		}
		return FromSlice(v, info.Shape...), nil
	case safetensors.U64:
		v := make([]int64, n)
		for i := range v {
			var x uint64
			for b := 0; b < 8; b++ {
				x |= uint64(raw[8*i+b]) << (8 * b)
			}
			v[i] = int64(x)
		}
		return FromSlice(v, info.Shape...), nil
	}
	return nil, fmt.Errorf("dtype %s is not supported", info.Dtype)
}

func viewAsUnaligned64(raw []byte) func(i int) float64 {
	return func(i int) float64 {
		var x uint64
		for b := 0; b < 8; b++ {
			x |= uint64(raw[8*i+b]) << (8 * b)
		}
		return float64frombits(x)
	}
}

// hostData returns a's row-major bytes for writing (its memory, or a copy).
func hostData(a *Array) []byte {
	b, _ := a.HostBytes()
	return b
}

// SaveSafetensors evaluates the arrays and writes them to path in the safetensors
// format, through a temporary file renamed into place: a crash never leaves a partial
// file behind.
func SaveSafetensors(path string, arrays map[string]*Array, metadata map[string]string) error {
	ts := make([]safetensors.Tensor, 0, len(arrays))
	var all []*Array
	for _, a := range arrays {
		all = append(all, a)
	}
	Eval(all)
	for name, a := range arrays {
		ts = append(ts, safetensors.Tensor{Name: name, Dtype: toST[a.dtype], Shape: cloneInts(a.shape), Data: hostData(a)})
	}
	if err := safetensors.Write(path, ts, metadata); err != nil {
		return fmt.Errorf("saving %s: %w", path, err)
	}
	return nil
}
