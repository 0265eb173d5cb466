// Package safetensors reads and writes the safetensors file format used by
// Hugging Face checkpoints, with no dependency on any array type.
//
// A safetensors file is an 8-byte little-endian header length N, then N
// bytes of JSON header, then the data section:
//
//	{"__metadata__": {"key": "value", ...},
//	 "name": {"dtype": "F32", "shape": [2, 3], "data_offsets": [begin, end]},
//	 ...}
//
// data_offsets are byte offsets relative to the start of the data section;
// end-begin must equal the number of elements times the item size of the
// dtype. Tensor data is stored row-major, little-endian.
//
// [Open] memory-maps the file read-only (on Unix; elsewhere it reads it into
// memory) and validates the whole header before returning, so that every
// [File.Bytes] slice is in range and has exactly the size its dtype and
// shape require. [Write] writes a file atomically: a crash or error never
// leaves a truncated file at the destination.
//
// Compared with the reference implementation, the reader is lenient in one
// respect: tensors need not tile the data section contiguously (gaps and
// trailing bytes are allowed), but they may not overlap. Everything the
// reference implementation writes is accepted.
package safetensors

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/bits"
	"slices"
	"sort"
	"strconv"
	"sync"
	"unicode/utf8"
)

// Dtype is the element type of a tensor, spelled as in the safetensors
// header ("F32", "BF16", ...).
type Dtype string

// The element types this package understands.
const (
	Bool Dtype = "BOOL" // one byte, 0 or 1
	U8   Dtype = "U8"   // unsigned 8-bit integer
	I8   Dtype = "I8"   // signed 8-bit integer
	U16  Dtype = "U16"  // unsigned 16-bit integer
	I16  Dtype = "I16"  // signed 16-bit integer
	U32  Dtype = "U32"  // unsigned 32-bit integer
	I32  Dtype = "I32"  // signed 32-bit integer
	U64  Dtype = "U64"  // unsigned 64-bit integer
	I64  Dtype = "I64"  // signed 64-bit integer
	F16  Dtype = "F16"  // IEEE 754 binary16
	BF16 Dtype = "BF16" // bfloat16
	F32  Dtype = "F32"  // IEEE 754 binary32
	F64  Dtype = "F64"  // IEEE 754 binary64
)

// Dtypes lists every supported element type.
var Dtypes = []Dtype{Bool, U8, I8, U16, I16, U32, I32, U64, I64, F16, BF16, F32, F64}

// ItemSize returns the size in bytes of one element of type d, or 0 if d is
// not a supported dtype.
func (d Dtype) ItemSize() int {
	switch d {
	case Bool, U8, I8:
		return 1
	case U16, I16, F16, BF16:
		return 2
	case U32, I32, F32:
		return 4
	case U64, I64, F64:
		return 8
	}
	return 0
}

// Valid reports whether d is a supported dtype.
func (d Dtype) Valid() bool { return d.ItemSize() != 0 }

// String returns the header spelling of d.
func (d Dtype) String() string { return string(d) }

// MaxHeaderSize is the largest JSON header Open accepts, in bytes (the same
// limit as the reference implementation).
const MaxHeaderSize = 100_000_000

// metadataKey is the reserved top-level header key for string metadata.
const metadataKey = "__metadata__"

// TensorInfo describes one tensor of a file.
type TensorInfo struct {
	Name  string // tensor name
	Dtype Dtype  // element type
	Shape []int  // dimensions, row-major; empty for a scalar
	Begin int64  // first byte, relative to the data section
	End   int64  // one past the last byte, relative to the data section
}

// NumElements returns the product of the dimensions (1 for a scalar).
func (t TensorInfo) NumElements() int64 {
	n := int64(1)
	for _, d := range t.Shape {
		n *= int64(d)
	}
	return n
}

// Size returns the size of the tensor data in bytes.
func (t TensorInfo) Size() int64 { return t.End - t.Begin }

// ErrInvalid is wrapped by every error that reports a malformed file:
// errors.Is(err, ErrInvalid) tells format problems apart from I/O errors.
var ErrInvalid = errors.New("invalid safetensors file")

// FormatError reports a malformed file. Its message names the file and, when
// the problem is confined to one, the tensor or metadata key.
type FormatError struct {
	Path string // file name as given to Open
	What string // `tensor "name"`, `metadata key "k"`, or empty for the file as a whole
	Msg  string // the problem
}

// Error returns "safetensors: PATH: WHAT: MSG".
func (e *FormatError) Error() string {
	if e.What == "" {
		return fmt.Sprintf("safetensors: %s: %s", e.Path, e.Msg)
	}
	return fmt.Sprintf("safetensors: %s: %s: %s", e.Path, e.What, e.Msg)
}

// Unwrap returns ErrInvalid.
func (e *FormatError) Unwrap() error { return ErrInvalid }

// File is an open safetensors file. Its methods may be called concurrently,
// except Close, which must not race with any other use.
//
// The slices returned by Bytes point into a read-only memory mapping of the
// file: they must not be written to, and they become invalid when the File
// is closed (accessing them afterwards crashes the process). Code that hands
// such slices to long-lived values (arrays that wrap the mapped data) should
// call Keep, or simply never call Close: the mapping then lives as long as
// the process, which is how mlxgo's array loader is meant to use it.
// Replacing the file on disk with Write (an atomic rename) does not disturb
// an existing mapping; truncating the file in place while it is mapped
// does. On platforms without mmap support in package syscall the file is
// read into memory instead and Close merely drops it.
type File struct {
	path       string
	buf        []byte // whole file: a memory mapping, or a heap copy
	data       []byte // data section, a subslice of buf
	dataOffset int64
	names      []string // sorted
	infos      map[string]TensorInfo
	meta       map[string]string

	mu     sync.Mutex
	closed bool
	kept   bool
	unmap  func([]byte) error // nil when buf is on the heap
}

// Open memory-maps the safetensors file at path and validates its header.
// Any malformed input gives an error (wrapping ErrInvalid) and never a
// panic.
func Open(path string) (*File, error) {
	buf, unmap, err := mapFile(path)
	if err != nil {
		return nil, err
	}
	f, err := parse(path, buf)
	if err != nil {
		if unmap != nil {
			unmap(buf)
		}
		return nil, err
	}
	f.unmap = unmap
	return f, nil
}

// Path returns the file name given to Open.
func (f *File) Path() string { return f.path }

// Names returns the tensor names in sorted order. The caller may modify the
// returned slice.
func (f *File) Names() []string { return slices.Clone(f.names) }

// Len returns the number of tensors.
func (f *File) Len() int { return len(f.names) }

// Info returns the description of the named tensor. The Shape slice is a
// copy that the caller may keep and modify.
func (f *File) Info(name string) (TensorInfo, bool) {
	ti, ok := f.infos[name]
	if ok {
		ti.Shape = slices.Clone(ti.Shape)
		if ti.Shape == nil {
			ti.Shape = []int{}
		}
	}
	return ti, ok
}

// Bytes returns the raw little-endian data of the named tensor without
// copying: the slice aliases the file mapping (see File for its lifetime).
// Its length is exactly NumElements*ItemSize and its capacity equals its
// length. The slice is only as aligned as the file layout makes it: the
// data section starts at byte 8+N of the file (N is the header length,
// a multiple of 8 in files written by Write and by the reference
// implementation) and each tensor starts at its Begin offset. Bytes
// returns nil for an unknown name or after Close.
func (f *File) Bytes(name string) []byte {
	ti, ok := f.infos[name]
	if !ok {
		return nil
	}
	f.mu.Lock()
	closed := f.closed
	f.mu.Unlock()
	if closed {
		return nil
	}
	return f.data[ti.Begin:ti.End:ti.End]
}

// DataOffset returns the file offset of the data section (8 plus the header
// length). Tensor data lies at DataOffset()+Begin in the file.
func (f *File) DataOffset() int64 { return f.dataOffset }

// Metadata returns a copy of the string metadata of the file (the
// "__metadata__" header entry); it is empty, not nil, when there is none.
func (f *File) Metadata() map[string]string {
	m := make(map[string]string, len(f.meta))
	for k, v := range f.meta {
		m[k] = v
	}
	return m
}

// Release gives the memory pages holding name's bytes back to the system
// (those wholly inside them, on a memory-mapped file): a reader that has
// copied a tensor out calls it so that the file and the copy are not both held.
// The bytes read the same afterwards, from the file. It does nothing for an
// unknown name or a file read into memory.
func (f *File) Release(name string) {
	if f.unmap != nil {
		dropPages(f.Bytes(name))
	}
}

// Keep marks the mapping as owned by the process: Close will then leave it
// mapped, so that slices obtained from Bytes stay valid for the lifetime of
// the process. Use it when arrays reference the file data without copying.
func (f *File) Keep() {
	f.mu.Lock()
	f.kept = true
	f.mu.Unlock()
}

// Close releases the memory mapping (unless Keep was called). All slices
// returned by Bytes become invalid: touching them afterwards crashes the
// process. Close is idempotent; later calls to Bytes return nil.
func (f *File) Close() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return nil
	}
	f.closed = true
	if f.kept || f.unmap == nil {
		return nil
	}
	buf := f.buf
	f.buf, f.data = nil, nil
	if err := f.unmap(buf); err != nil {
		return fmt.Errorf("safetensors: close %s: %w", f.path, err)
	}
	return nil
}

// parse validates the complete file image buf and builds a File over it.
func parse(path string, buf []byte) (*File, error) {
	bad := func(what, format string, args ...any) error {
		return &FormatError{Path: path, What: what, Msg: fmt.Sprintf(format, args...)}
	}
	if len(buf) < 8 {
		return nil, bad("", "file too short (%d bytes) to hold the 8-byte header length", len(buf))
	}
	n := binary.LittleEndian.Uint64(buf)
	if n > MaxHeaderSize {
		return nil, bad("", "header length %d exceeds the %d byte limit", n, MaxHeaderSize)
	}
	if n > uint64(len(buf)-8) {
		return nil, bad("", "header length %d runs past the end of the file (%d bytes)", n, len(buf))
	}
	hdr := buf[8 : 8+n]
	data := buf[8+n:]
	if len(hdr) == 0 || hdr[0] != '{' {
		return nil, bad("", "header does not start with '{'")
	}
	if !utf8.Valid(hdr) {
		return nil, bad("", "header is not valid UTF-8")
	}
	keys, vals, err := objectFields(hdr)
	if dup, ok := err.(dupKeyError); ok {
		if string(dup) == metadataKey {
			return nil, bad("", "duplicate %q entry", metadataKey)
		}
		return nil, bad(fmt.Sprintf("tensor %q", string(dup)), "duplicate tensor name")
	}
	if err != nil {
		return nil, bad("", "invalid header JSON: %v", err)
	}
	f := &File{
		path:       path,
		buf:        buf,
		data:       data,
		dataOffset: int64(8 + n),
		infos:      make(map[string]TensorInfo, len(keys)),
		meta:       map[string]string{},
	}
	for i, key := range keys {
		if key == metadataKey {
			if err := parseMetadata(vals[i], f.meta, bad); err != nil {
				return nil, err
			}
			continue
		}
		ti, err := parseTensor(key, vals[i], int64(len(data)), bad)
		if err != nil {
			return nil, err
		}
		f.infos[key] = ti
		f.names = append(f.names, key)
	}
	sort.Strings(f.names)
	// Overlap check: sort the non-empty extents by start.
	ext := make([]TensorInfo, 0, len(f.names))
	for _, name := range f.names {
		if ti := f.infos[name]; ti.End > ti.Begin {
			ext = append(ext, ti)
		}
	}
	sort.Slice(ext, func(i, j int) bool { return ext[i].Begin < ext[j].Begin })
	for i := 1; i < len(ext); i++ {
		if ext[i].Begin < ext[i-1].End {
			return nil, bad(fmt.Sprintf("tensor %q", ext[i].Name),
				"data_offsets [%d %d] overlap tensor %q [%d %d]",
				ext[i].Begin, ext[i].End, ext[i-1].Name, ext[i-1].Begin, ext[i-1].End)
		}
	}
	return f, nil
}

// badFunc builds a FormatError.
type badFunc func(what, format string, args ...any) error

// parseMetadata decodes the "__metadata__" object (or null) into meta.
func parseMetadata(raw json.RawMessage, meta map[string]string, bad badFunc) error {
	if string(raw) == "null" {
		return nil
	}
	keys, vals, err := objectFields(raw)
	if err != nil {
		return bad(`"__metadata__"`, "%v", err)
	}
	for i, k := range keys {
		what := fmt.Sprintf("metadata key %q", k)
		if len(vals[i]) == 0 || vals[i][0] != '"' {
			return bad(what, "value %s is not a string", abbrev(vals[i]))
		}
		var s string
		if err := json.Unmarshal(vals[i], &s); err != nil {
			return bad(what, "%v", err)
		}
		meta[k] = s
	}
	return nil
}

// parseTensor decodes and checks one tensor entry against a data section of
// dataLen bytes.
func parseTensor(name string, raw json.RawMessage, dataLen int64, bad badFunc) (TensorInfo, error) {
	what := fmt.Sprintf("tensor %q", name)
	keys, vals, err := objectFields(raw)
	if err != nil {
		return TensorInfo{}, bad(what, "%v", err)
	}
	var dtypeRaw, shapeRaw, offRaw json.RawMessage
	for i, k := range keys {
		switch k {
		case "dtype":
			dtypeRaw = vals[i]
		case "shape":
			shapeRaw = vals[i]
		case "data_offsets":
			offRaw = vals[i]
		}
		// Other keys are ignored, as the reference implementation does.
	}
	if dtypeRaw == nil || shapeRaw == nil || offRaw == nil {
		return TensorInfo{}, bad(what, `entry needs "dtype", "shape" and "data_offsets"`)
	}
	var dt string
	if err := json.Unmarshal(dtypeRaw, &dt); err != nil {
		return TensorInfo{}, bad(what, "dtype %s is not a string", abbrev(dtypeRaw))
	}
	ti := TensorInfo{Name: name, Dtype: Dtype(dt), Shape: []int{}}
	if !ti.Dtype.Valid() {
		return TensorInfo{}, bad(what, "unknown dtype %q", dt)
	}
	dims, err := intArray(shapeRaw)
	if err != nil {
		return TensorInfo{}, bad(what, "shape: %v", err)
	}
	numel := uint64(1)
	for i, d := range dims {
		if d < 0 {
			return TensorInfo{}, bad(what, "shape %v has negative dimension %d at axis %d", dims, d, i)
		}
		if d > math.MaxInt {
			return TensorInfo{}, bad(what, "shape %v: dimension %d too large", dims, d)
		}
		hi, lo := bits.Mul64(numel, uint64(d))
		if hi != 0 || lo > math.MaxInt64 {
			return TensorInfo{}, bad(what, "shape %v: element count overflows", dims)
		}
		numel = lo
		ti.Shape = append(ti.Shape, int(d))
	}
	hi, size := bits.Mul64(numel, uint64(ti.Dtype.ItemSize()))
	if hi != 0 || size > math.MaxInt64 {
		return TensorInfo{}, bad(what, "shape %v: byte size overflows", dims)
	}
	offs, err := intArray(offRaw)
	if err != nil {
		return TensorInfo{}, bad(what, "data_offsets: %v", err)
	}
	if len(offs) != 2 {
		return TensorInfo{}, bad(what, "data_offsets %v must have 2 entries", offs)
	}
	ti.Begin, ti.End = offs[0], offs[1]
	if ti.Begin < 0 || ti.End < ti.Begin {
		return TensorInfo{}, bad(what, "data_offsets %v are not 0 <= begin <= end", offs)
	}
	if ti.End > dataLen {
		return TensorInfo{}, bad(what, "data_offsets %v out of range: the data section has %d bytes", offs, dataLen)
	}
	if uint64(ti.End-ti.Begin) != size {
		return TensorInfo{}, bad(what, "shape %v with dtype %s needs %d bytes, data_offsets %v span %d",
			dims, ti.Dtype, size, offs, ti.End-ti.Begin)
	}
	return ti, nil
}

// intArray decodes a JSON array of integers that fit in int64.
func intArray(raw json.RawMessage) ([]int64, error) {
	var nums []json.RawMessage
	if err := json.Unmarshal(raw, &nums); err != nil || nums == nil {
		return nil, fmt.Errorf("%s is not an array of integers", abbrev(raw))
	}
	out := make([]int64, len(nums))
	for i, s := range nums {
		// Only a bare JSON integer parses: quoted numbers, fractions,
		// exponents and null are rejected.
		v, err := strconv.ParseInt(string(s), 10, 64)
		if err != nil {
			return nil, fmt.Errorf("entry %d (%s) is not an integer in range", i, abbrev([]byte(s)))
		}
		out[i] = v
	}
	return out, nil
}

// objectFields splits a JSON object into its keys and raw values, in order,
// rejecting duplicate keys and trailing data.
func objectFields(raw []byte) ([]string, []json.RawMessage, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	tok, err := dec.Token()
	if err != nil {
		return nil, nil, err
	}
	if tok != json.Delim('{') {
		return nil, nil, fmt.Errorf("%s is not a JSON object", abbrev(raw))
	}
	var keys []string
	var vals []json.RawMessage
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, nil, err
		}
		key, ok := tok.(string)
		if !ok {
			return nil, nil, fmt.Errorf("object key %v is not a string", tok)
		}
		if seen[key] {
			return nil, nil, dupKeyError(key)
		}
		seen[key] = true
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, nil, fmt.Errorf("value of %q: %v", key, err)
		}
		keys = append(keys, key)
		vals = append(vals, v)
	}
	if _, err := dec.Token(); err != nil { // the closing '}'
		return nil, nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, nil, errors.New("trailing data after the JSON object")
	}
	return keys, vals, nil
}

// dupKeyError reports a key that occurs twice in one JSON object.
type dupKeyError string

func (e dupKeyError) Error() string { return fmt.Sprintf("duplicate key %q", string(e)) }

// abbrev shortens a JSON fragment for error messages.
func abbrev(b []byte) string {
	const max = 40
	if len(b) > max {
		return string(b[:max]) + "..."
	}
	return string(b)
}
