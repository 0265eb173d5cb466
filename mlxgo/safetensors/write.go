package safetensors

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/bits"
	"sort"
	"strconv"
	"unicode/utf8"

	"github.com/mlxgo/mlxgo/mlxgo/internal/atomicfile"
)

// Tensor is one tensor to write: Data holds its NumElements*ItemSize bytes,
// row-major and little-endian.
type Tensor struct {
	Name  string // unique, non-empty, valid UTF-8, not "__metadata__"
	Dtype Dtype  // element type
	Shape []int  // dimensions, row-major; empty for a scalar
	Data  []byte // raw little-endian elements
}

// Write stores tensors and metadata as a safetensors file at path.
//
// Tensors are laid out in name order (as the reference implementation does
// for tensors of equal alignment), and the JSON header is padded with
// spaces to a multiple of 8 bytes so that the data section is 8-byte
// aligned. The file is written to a temporary file in the same directory,
// flushed to disk (fsync) and renamed over path, so that path holds either
// its old contents or the complete new file, never a partial one; existing
// memory mappings of the old file stay valid. Tensor data is streamed from
// the given slices; the file is never assembled in memory.
//
// Write checks that names are non-empty, unique and not "__metadata__",
// that every dtype is supported, that dimensions are non-negative and that
// len(Data) matches the shape. A new file gets permissions 0644; an existing
// file keeps its permissions.
func Write(path string, tensors []Tensor, metadata map[string]string) error {
	hdr, order, err := buildHeader(tensors, metadata)
	if err != nil {
		return fmt.Errorf("safetensors: write %s: %w", path, err)
	}
	if err := atomicfile.WriteWith(path, func(w io.Writer) error {
		return writeBody(w, hdr, tensors, order)
	}); err != nil {
		return fmt.Errorf("safetensors: %w", err)
	}
	return nil
}

// Encode writes tensors and metadata in safetensors format to w, with the
// same layout and checks as Write, and returns the number of bytes written.
// Use it to stream a file to a destination other than a local path.
func Encode(w io.Writer, tensors []Tensor, metadata map[string]string) (int64, error) {
	hdr, order, err := buildHeader(tensors, metadata)
	if err != nil {
		return 0, fmt.Errorf("safetensors: %w", err)
	}
	cw := &countWriter{w: w}
	err = writeBody(cw, hdr, tensors, order)
	return cw.n, err
}

// countWriter counts the bytes written through it.
type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// writeBody writes the length prefix, the header and the tensor data in the
// given order.
func writeBody(w io.Writer, hdr []byte, tensors []Tensor, order []int) error {
	bw := bufio.NewWriterSize(w, 1<<20)
	var n [8]byte
	binary.LittleEndian.PutUint64(n[:], uint64(len(hdr)))
	bw.Write(n[:])
	bw.Write(hdr)
	for _, i := range order {
		// Large slices bypass the buffer once it is flushed.
		if _, err := bw.Write(tensors[i].Data); err != nil {
			return err
		}
	}
	return bw.Flush()
}

// buildHeader validates tensors and returns the padded JSON header and the
// indices of tensors in data order (sorted by name).
func buildHeader(tensors []Tensor, metadata map[string]string) ([]byte, []int, error) {
	order := make([]int, len(tensors))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return tensors[order[a]].Name < tensors[order[b]].Name })
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	str := func(s string) {
		enc.Encode(s)               // cannot fail for a string
		buf.Truncate(buf.Len() - 1) // drop Encode's newline
	}
	buf.WriteByte('{')
	first := true
	if len(metadata) > 0 {
		keys := make([]string, 0, len(metadata))
		for k := range metadata {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			if !utf8.ValidString(k) || !utf8.ValidString(metadata[k]) {
				return nil, nil, fmt.Errorf("metadata key %q: not valid UTF-8", k)
			}
		}
		str(metadataKey)
		buf.WriteString(":{")
		for i, k := range keys {
			if i > 0 {
				buf.WriteByte(',')
			}
			str(k)
			buf.WriteByte(':')
			str(metadata[k])
		}
		buf.WriteByte('}')
		first = false
	}
	var offset uint64
	for j, i := range order {
		t := &tensors[i]
		if t.Name == "" {
			return nil, nil, errors.New("tensor with empty name")
		}
		if !utf8.ValidString(t.Name) {
			return nil, nil, fmt.Errorf("tensor name %q is not valid UTF-8", t.Name)
		}
		if t.Name == metadataKey {
			return nil, nil, fmt.Errorf("tensor name %q is reserved", metadataKey)
		}
		if j > 0 && tensors[order[j-1]].Name == t.Name {
			return nil, nil, fmt.Errorf("duplicate tensor name %q", t.Name)
		}
		if !t.Dtype.Valid() {
			return nil, nil, fmt.Errorf("tensor %q: unknown dtype %q", t.Name, string(t.Dtype))
		}
		numel := uint64(1)
		for _, d := range t.Shape {
			if d < 0 {
				return nil, nil, fmt.Errorf("tensor %q: shape %v has a negative dimension", t.Name, t.Shape)
			}
			hi, lo := bits.Mul64(numel, uint64(d))
			if hi != 0 || lo > math.MaxInt64 {
				return nil, nil, fmt.Errorf("tensor %q: shape %v: element count overflows", t.Name, t.Shape)
			}
			numel = lo
		}
		hi, size := bits.Mul64(numel, uint64(t.Dtype.ItemSize()))
		if hi != 0 || size != uint64(len(t.Data)) {
			return nil, nil, fmt.Errorf("tensor %q: shape %v with dtype %s needs %d bytes, Data has %d",
				t.Name, t.Shape, t.Dtype, size, len(t.Data))
		}
		if !first {
			buf.WriteByte(',')
		}
		first = false
		str(t.Name)
		buf.WriteString(`:{"dtype":"`)
		buf.WriteString(string(t.Dtype))
		buf.WriteString(`","shape":[`)
		for k, d := range t.Shape {
			if k > 0 {
				buf.WriteByte(',')
			}
			buf.WriteString(strconv.Itoa(d))
		}
		buf.WriteString(`],"data_offsets":[`)
		buf.WriteString(strconv.FormatUint(offset, 10))
		buf.WriteByte(',')
		buf.WriteString(strconv.FormatUint(offset+size, 10))
		buf.WriteString("]}")
		offset += size
	}
	buf.WriteByte('}')
	for buf.Len()%8 != 0 {
		buf.WriteByte(' ')
	}
	if buf.Len() > MaxHeaderSize {
		return nil, nil, fmt.Errorf("header of %d bytes exceeds the %d byte limit", buf.Len(), MaxHeaderSize)
	}
	return buf.Bytes(), order, nil
}
