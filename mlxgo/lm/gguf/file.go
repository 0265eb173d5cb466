package gguf

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"math"
)

// The GGUF container, version 3: a header, key/value metadata, tensor descriptions, then
// the tensor data, each tensor starting at a multiple of the alignment. All little-endian.
const (
	magic     = "GGUF"
	version   = 3
	alignment = 32
)

// Metadata value types of the GGUF format.
const (
	valUint8   uint32 = 0
	valInt32   uint32 = 5
	valUint32  uint32 = 4
	valFloat32 uint32 = 6
	valBool    uint32 = 7
	valString  uint32 = 8
	valArray   uint32 = 9
)

// kv is one metadata entry; its value is a uint32, int32, float32, bool, string, or a
// slice of strings, int32s or float32s.
type kv struct {
	key   string
	value any
}

// tensorInfo describes one tensor: its GGUF name, its shape in GGUF order (innermost
// dimension first, the reverse of the row-major shape), its storage type, and a function
// that writes its bytes.
type tensorInfo struct {
	name  string
	dims  []uint64
	typ   Type
	write func(w io.Writer) error
}

// size is the tensor's byte count in its storage type.
func (t *tensorInfo) size() uint64 {
	n := uint64(1)
	for _, d := range t.dims {
		n *= d
	}
	return t.typ.bytes(n)
}

// writer encodes GGUF pieces and counts the bytes written.
type writer struct {
	w   *bufio.Writer
	n   uint64
	err error
}

func (w *writer) raw(b []byte) {
	if w.err != nil {
		return
	}
	var m int
	m, w.err = w.w.Write(b)
	w.n += uint64(m)
}

func (w *writer) u32(v uint32) { w.raw(binary.LittleEndian.AppendUint32(nil, v)) }
func (w *writer) u64(v uint64) { w.raw(binary.LittleEndian.AppendUint64(nil, v)) }
func (w *writer) str(s string) { w.u64(uint64(len(s))); w.raw([]byte(s)) }

func (w *writer) pad() {
	if r := w.n % alignment; r != 0 {
		w.raw(make([]byte, alignment-r))
	}
}

func (w *writer) value(key string, v any) {
	switch x := v.(type) {
	case uint32:
		w.u32(valUint32)
		w.u32(x)
	case int32:
		w.u32(valInt32)
		w.u32(uint32(x))
	case float32:
		w.u32(valFloat32)
		w.u32(math.Float32bits(x))
	case bool:
		w.u32(valBool)
		b := byte(0)
		if x {
			b = 1
		}
		w.raw([]byte{b})
	case string:
		w.u32(valString)
		w.str(x)
	case []string:
		w.u32(valArray)
		w.u32(valString)
		w.u64(uint64(len(x)))
		for _, s := range x {
			w.str(s)
		}
	case []int32:
		w.u32(valArray)
		w.u32(valInt32)
		w.u64(uint64(len(x)))
		for _, e := range x {
			w.u32(uint32(e))
		}
	case []float32:
		w.u32(valArray)
		w.u32(valFloat32)
		w.u64(uint64(len(x)))
		for _, e := range x {
			w.u32(math.Float32bits(e))
		}
	default:
		if w.err == nil {
			w.err = fmt.Errorf("gguf: metadata %s: unsupported value type %T", key, v)
		}
	}
}

// writeFile writes a whole GGUF file: header, metadata, tensor descriptions, data.
func writeFile(out io.Writer, meta []kv, tensors []*tensorInfo) error {
	w := &writer{w: bufio.NewWriterSize(out, 1<<20)}
	w.raw([]byte(magic))
	w.u32(version)
	w.u64(uint64(len(tensors)))
	w.u64(uint64(len(meta)))
	for _, e := range meta {
		w.str(e.key)
		w.value(e.key, e.value)
	}
	var offset uint64
	for _, t := range tensors {
		w.str(t.name)
		w.u32(uint32(len(t.dims)))
		for _, d := range t.dims {
			w.u64(d)
		}
		w.u32(t.typ.ggml())
		w.u64(offset)
		offset += t.size()
		offset = (offset + alignment - 1) / alignment * alignment
	}
	w.pad()
	for _, t := range tensors {
		if w.err != nil {
			break
		}
		start := w.n
		if err := t.write(writerFunc(w.raw)); err != nil {
			return fmt.Errorf("gguf: tensor %s: %w", t.name, err)
		}
		if w.err == nil && w.n-start != t.size() {
			return fmt.Errorf("gguf: tensor %s: wrote %d bytes, want %d", t.name, w.n-start, t.size())
		}
		w.pad()
	}
	if w.err != nil {
		return w.err
	}
	return w.w.Flush()
}

type writerFunc func([]byte)

func (f writerFunc) Write(b []byte) (int, error) { f(b); return len(b), nil }
