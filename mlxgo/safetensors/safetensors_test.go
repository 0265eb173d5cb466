package safetensors

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"testing"
)

// randTensor returns a tensor of the given dtype and shape with random data.
func randTensor(r *rand.Rand, name string, dt Dtype, shape ...int) Tensor {
	n := dt.ItemSize()
	for _, d := range shape {
		n *= d
	}
	data := make([]byte, n)
	for i := range data {
		data[i] = byte(r.Uint32())
	}
	return Tensor{Name: name, Dtype: dt, Shape: shape, Data: data}
}

// checkFile verifies that f holds exactly tensors and meta.
func checkFile(t *testing.T, f *File, tensors []Tensor, meta map[string]string) {
	t.Helper()
	var names []string
	for _, tt := range tensors {
		names = append(names, tt.Name)
	}
	slices.Sort(names)
	if got := f.Names(); !slices.Equal(got, names) {
		t.Fatalf("Names() = %q, want %q", got, names)
	}
	for _, tt := range tensors {
		info, ok := f.Info(tt.Name)
		if !ok {
			t.Fatalf("Info(%q) missing", tt.Name)
		}
		want := tt.Shape
		if want == nil {
			want = []int{}
		}
		if info.Dtype != tt.Dtype || !reflect.DeepEqual(info.Shape, want) || info.Name != tt.Name {
			t.Fatalf("Info(%q) = %+v, want dtype %s shape %v", tt.Name, info, tt.Dtype, tt.Shape)
		}
		if info.Size() != int64(len(tt.Data)) || info.NumElements()*int64(tt.Dtype.ItemSize()) != info.Size() {
			t.Fatalf("Info(%q) size %d, want %d", tt.Name, info.Size(), len(tt.Data))
		}
		b := f.Bytes(tt.Name)
		if !bytes.Equal(b, tt.Data) || len(b) != cap(b) {
			t.Fatalf("Bytes(%q) differs (len %d cap %d)", tt.Name, len(b), cap(b))
		}
	}
	if got := f.Metadata(); !(len(got) == 0 && len(meta) == 0) && !reflect.DeepEqual(got, meta) {
		t.Fatalf("Metadata() = %v, want %v", got, meta)
	}
}

func TestRoundTripAllDtypes(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 1))
	var tensors []Tensor
	for i, dt := range Dtypes {
		tensors = append(tensors,
			randTensor(r, "t."+string(dt), dt, 2, 3, i+1),
			randTensor(r, "scalar."+string(dt), dt),
			randTensor(r, "empty."+string(dt), dt, 0, 5),
		)
	}
	tensors = append(tensors, randTensor(r, `odd "name" <&> ünï`, F32, 7))
	r.Shuffle(len(tensors), func(i, j int) { tensors[i], tensors[j] = tensors[j], tensors[i] })
	meta := map[string]string{"format": "pt", "note": "quotes \" and \\ and \n", "ü": "✓"}
	path := filepath.Join(t.TempDir(), "all.safetensors")
	if err := Write(path, tensors, meta); err != nil {
		t.Fatal(err)
	}
	f, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	checkFile(t, f, tensors, meta)

	// Layout: header a multiple of 8, data sorted by name and contiguous.
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	n := binary.LittleEndian.Uint64(raw)
	if n%8 != 0 || f.DataOffset() != int64(8+n) {
		t.Errorf("header length %d, data offset %d", n, f.DataOffset())
	}
	var end int64
	for _, name := range f.Names() {
		info, _ := f.Info(name)
		if info.Begin != end {
			t.Errorf("tensor %q begins at %d, want %d (sorted, contiguous)", name, info.Begin, end)
		}
		end = info.End
	}
	if int64(len(raw)) != f.DataOffset()+end {
		t.Errorf("file has %d bytes, want %d", len(raw), f.DataOffset()+end)
	}
	// Encode produces the same bytes as Write.
	var buf bytes.Buffer
	nw, err := Encode(&buf, tensors, meta)
	if err != nil || nw != int64(len(raw)) || !bytes.Equal(buf.Bytes(), raw) {
		t.Errorf("Encode: %d bytes, err %v, equal %v", nw, err, bytes.Equal(buf.Bytes(), raw))
	}
	if st, err := os.Stat(path); err != nil || st.Mode().Perm() != 0o644 {
		t.Errorf("mode %v, %v", st.Mode(), err)
	}
}

func TestEmptyFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "empty.safetensors")
	if err := Write(path, nil, nil); err != nil {
		t.Fatal(err)
	}
	f, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Names()) != 0 || len(f.Metadata()) != 0 || f.Len() != 0 {
		t.Errorf("empty file: %v %v", f.Names(), f.Metadata())
	}
	f.Close()
}

// TestHuggingFaceFile reads a file written by the Python safetensors
// library (logits and input ids of the tiny Llama fixture).
func TestHuggingFaceFile(t *testing.T) {
	f, err := Open("testdata/forward.safetensors")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if got := f.Names(); !slices.Equal(got, []string{"input_ids", "logits"}) {
		t.Fatalf("Names() = %q", got)
	}
	ids, _ := f.Info("input_ids")
	if ids.Dtype != I32 || !slices.Equal(ids.Shape, []int{2, 24}) {
		t.Errorf("input_ids: %+v", ids)
	}
	logits, _ := f.Info("logits")
	if logits.Dtype != F32 || !slices.Equal(logits.Shape, []int{2, 24, 512}) {
		t.Errorf("logits: %+v", logits)
	}
	// Values checked against an independent decoding with Python's struct.
	b := f.Bytes("input_ids")
	wantIDs := []int32{203, 290, 2, 239, 451, 327, 163, 54}
	for i, w := range wantIDs {
		if got := int32(binary.LittleEndian.Uint32(b[4*i:])); got != w {
			t.Errorf("input_ids[%d] = %d, want %d", i, got, w)
		}
	}
	if got := int32(binary.LittleEndian.Uint32(b[len(b)-4:])); got != 459 {
		t.Errorf("last input id = %d, want 459", got)
	}
	lb := f.Bytes("logits")
	var sum, abs float64
	for i := 0; i < len(lb); i += 4 {
		v := float64(math.Float32frombits(binary.LittleEndian.Uint32(lb[i:])))
		sum += v
		abs += math.Abs(v)
	}
	first := math.Float32frombits(binary.LittleEndian.Uint32(lb))
	if first != float32(-0.9841328859329224) || math.Abs(sum-(-156.0098531077756)) > 1e-6 || math.Abs(abs-12586.069194467687) > 1e-6 {
		t.Errorf("logits: first %v sum %v abs %v", first, sum, abs)
	}
	if len(f.Metadata()) != 0 {
		t.Errorf("metadata %v", f.Metadata())
	}
}

// rawFile assembles a file from a header (not padded) and dataLen zero
// bytes of data.
func rawFile(header string, dataLen int) []byte {
	b := binary.LittleEndian.AppendUint64(nil, uint64(len(header)))
	b = append(b, header...)
	return append(b, make([]byte, dataLen)...)
}

func TestMalformed(t *testing.T) {
	lenOnly := func(n uint64, total int) []byte {
		b := binary.LittleEndian.AppendUint64(nil, n)
		b = append(b, '{')
		return append(b, make([]byte, total-len(b))...)
	}
	tests := []struct {
		name string
		file []byte
		want []string // substrings of the error message
	}{
		{"empty", nil, []string{"too short"}},
		{"short", []byte{1, 2, 3}, []string{"too short"}},
		{"header past end", lenOnly(1000, 100), []string{"header length 1000", "past the end"}},
		{"header absurd", lenOnly(1<<40, 100), []string{"exceeds", "limit"}},
		{"header just over limit", lenOnly(MaxHeaderSize+1, 100), []string{"exceeds"}},
		{"not an object", rawFile(`[1,2]`, 0), []string{"does not start with '{'"}},
		{"invalid json", rawFile(`{"w": {"dtype": "F32",`, 0), []string{"invalid header JSON"}},
		{"invalid json 2", rawFile(`{"w" 1}`, 0), []string{"invalid header JSON"}},
		{"trailing garbage", rawFile(`{} x`, 0), []string{"invalid header JSON"}},
		{"second object", rawFile(`{}{}`, 0), []string{"trailing data"}},
		{"invalid utf8", rawFile("{\"w\xff\":1}", 0), []string{"UTF-8"}},
		{"entry not object", rawFile(`{"w":3}`, 0), []string{`tensor "w"`, "not a JSON object"}},
		{"missing field", rawFile(`{"w":{"dtype":"F32","shape":[1]}}`, 4), []string{`tensor "w"`, `"data_offsets"`}},
		{"unknown dtype", rawFile(`{"w":{"dtype":"F8","shape":[1],"data_offsets":[0,1]}}`, 1), []string{`tensor "w"`, `unknown dtype "F8"`}},
		{"dtype not string", rawFile(`{"w":{"dtype":5,"shape":[1],"data_offsets":[0,1]}}`, 1), []string{`tensor "w"`, "dtype 5"}},
		{"size mismatch", rawFile(`{"w":{"dtype":"F32","shape":[2,3],"data_offsets":[0,20]}}`, 24), []string{`tensor "w"`, "needs 24 bytes", "span 20"}},
		{"size mismatch dtype", rawFile(`{"w":{"dtype":"F16","shape":[2,3],"data_offsets":[0,24]}}`, 24), []string{`tensor "w"`, "needs 12 bytes"}},
		{"offsets out of range", rawFile(`{"w":{"dtype":"F32","shape":[2,3],"data_offsets":[0,24]}}`, 16), []string{`tensor "w"`, "out of range", "16 bytes"}},
		{"offsets reversed", rawFile(`{"w":{"dtype":"F32","shape":[1],"data_offsets":[8,4]}}`, 16), []string{`tensor "w"`, "begin <= end"}},
		{"offsets negative", rawFile(`{"w":{"dtype":"F32","shape":[1],"data_offsets":[-4,0]}}`, 16), []string{`tensor "w"`, "begin <= end"}},
		{"offsets count", rawFile(`{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4,8]}}`, 16), []string{`tensor "w"`, "2 entries"}},
		{"offsets not ints", rawFile(`{"w":{"dtype":"F32","shape":[1],"data_offsets":"0-4"}}`, 16), []string{`tensor "w"`, "data_offsets", "not an array"}},
		{"offset huge", rawFile(`{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,99999999999999999999]}}`, 16), []string{`tensor "w"`, "not an integer in range"}},
		{"overlap", rawFile(`{"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]},"b":{"dtype":"F32","shape":[4],"data_offsets":[8,24]}}`, 24), []string{`tensor "b"`, "overlap", `"a"`}},
		{"overlap same", rawFile(`{"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]},"b":{"dtype":"I8","shape":[4],"data_offsets":[0,4]}}`, 4), []string{"overlap"}},
		{"negative dim", rawFile(`{"w":{"dtype":"F32","shape":[-1,2],"data_offsets":[0,0]}}`, 0), []string{`tensor "w"`, "negative dimension"}},
		{"quoted dim", rawFile(`{"w":{"dtype":"F32","shape":["1"],"data_offsets":[0,4]}}`, 4), []string{`tensor "w"`, "shape", "not an integer"}},
		{"exponent offset", rawFile(`{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4e0]}}`, 4), []string{`tensor "w"`, "data_offsets", "not an integer"}},
		{"null shape", rawFile(`{"w":{"dtype":"F32","shape":null,"data_offsets":[0,4]}}`, 4), []string{`tensor "w"`, "shape", "not an array"}},
		{"fractional dim", rawFile(`{"w":{"dtype":"F32","shape":[1.5],"data_offsets":[0,4]}}`, 4), []string{`tensor "w"`, "shape", "not an integer"}},
		{"numel overflow", rawFile(`{"w":{"dtype":"U8","shape":[4294967296,4294967296],"data_offsets":[0,0]}}`, 0), []string{`tensor "w"`, "overflows"}},
		{"bytes overflow", rawFile(`{"w":{"dtype":"F64","shape":[2305843009213693952],"data_offsets":[0,0]}}`, 0), []string{`tensor "w"`, "overflows"}},
		{"duplicate name", rawFile(`{"w":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"w":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}}`, 2), []string{`tensor "w"`, "duplicate tensor name"}},
		{"duplicate field", rawFile(`{"w":{"dtype":"U8","dtype":"U8","shape":[1],"data_offsets":[0,1]}}`, 2), []string{`tensor "w"`, `duplicate key "dtype"`}},
		{"metadata not string", rawFile(`{"__metadata__":{"ok":"x","k":1}}`, 0), []string{`metadata key "k"`, "not a string"}},
		{"metadata nested", rawFile(`{"__metadata__":{"k":{"a":"b"}}}`, 0), []string{`metadata key "k"`, "not a string"}},
		{"metadata not object", rawFile(`{"__metadata__":["a"]}`, 0), []string{`"__metadata__"`, "not a JSON object"}},
		{"metadata duplicate key", rawFile(`{"__metadata__":{"k":"a","k":"b"}}`, 0), []string{`"__metadata__"`, `duplicate key "k"`}},
		{"metadata twice", rawFile(`{"__metadata__":{},"__metadata__":{}}`, 0), []string{`duplicate "__metadata__"`}},
	}
	dir := t.TempDir()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "_")+".safetensors")
			if err := os.WriteFile(path, tc.file, 0o644); err != nil {
				t.Fatal(err)
			}
			f, err := Open(path)
			if err == nil {
				f.Close()
				t.Fatalf("Open succeeded, want error containing %q", tc.want)
			}
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("error %v does not wrap ErrInvalid", err)
			}
			msg := err.Error()
			for _, w := range append([]string{path}, tc.want...) {
				if !strings.Contains(msg, w) {
					t.Errorf("error %q does not mention %q", msg, w)
				}
			}
		})
	}
}

// TestLenient documents what the reader accepts beyond the reference
// implementation's own output.
func TestLenient(t *testing.T) {
	dir := t.TempDir()
	for name, file := range map[string][]byte{
		"gap and trailing bytes": rawFile(`{"a":{"dtype":"U8","shape":[2],"data_offsets":[4,6]},"b":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}`, 10),
		"empty tensors share":    rawFile(`{"a":{"dtype":"F32","shape":[0],"data_offsets":[0,0]},"b":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"c":{"dtype":"I64","shape":[3,0],"data_offsets":[0,0]}}`, 1),
		"extra fields":           rawFile(`{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1],"extra":[1]}}`, 1),
		"null metadata":          rawFile(`{"__metadata__":null}  `, 0),
		"whitespace":             rawFile("{ \"a\" : {\"dtype\":\"U8\",\"shape\":[ 1 ],\"data_offsets\":[0, 1]} }\n\t ", 1),
	} {
		path := filepath.Join(dir, strings.ReplaceAll(name, " ", "_"))
		if err := os.WriteFile(path, file, 0o644); err != nil {
			t.Fatal(err)
		}
		f, err := Open(path)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		checkInvariants(t, f)
		f.Close()
	}
}

func TestWriteErrors(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "x.safetensors")
	good := Tensor{Name: "a", Dtype: F32, Shape: []int{2}, Data: make([]byte, 8)}
	if err := Write(path, []Tensor{good}, nil); err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(path)
	tests := []struct {
		name    string
		tensors []Tensor
		meta    map[string]string
		want    string
	}{
		{"duplicate", []Tensor{good, good}, nil, `duplicate tensor name "a"`},
		{"size", []Tensor{{Name: "b", Dtype: F32, Shape: []int{3}, Data: make([]byte, 8)}}, nil, `tensor "b": shape [3] with dtype F32 needs 12 bytes, Data has 8`},
		{"dtype", []Tensor{{Name: "b", Dtype: "F8", Shape: []int{1}, Data: make([]byte, 1)}}, nil, `unknown dtype "F8"`},
		{"negative", []Tensor{{Name: "b", Dtype: U8, Shape: []int{-1}}}, nil, "negative"},
		{"overflow", []Tensor{{Name: "b", Dtype: U8, Shape: []int{1 << 40, 1 << 40}}}, nil, "overflows"},
		{"reserved", []Tensor{{Name: "__metadata__", Dtype: U8, Shape: []int{0}}}, nil, "reserved"},
		{"empty name", []Tensor{{Name: "", Dtype: U8, Shape: []int{0}}}, nil, "empty name"},
		{"bad utf8", []Tensor{{Name: "\xff", Dtype: U8, Shape: []int{0}}}, nil, "UTF-8"},
		{"bad utf8 meta", nil, map[string]string{"k": "\xff"}, "UTF-8"},
	}
	for _, tc := range tests {
		err := Write(path, tc.tensors, tc.meta)
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), path) {
			t.Errorf("%s: error %v, want %q", tc.name, err, tc.want)
		}
	}
	after, _ := os.ReadFile(path)
	if !bytes.Equal(before, after) {
		t.Error("failed Write modified the existing file")
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 1 {
		t.Errorf("directory holds %d entries after failed writes, want 1", len(ents))
	}
	// A write into a missing directory fails cleanly.
	if err := Write(filepath.Join(dir, "nope", "x"), []Tensor{good}, nil); err == nil {
		t.Error("write into missing directory succeeded")
	}
}

// failWriter fails after n bytes.
type failWriter struct{ n int }

func (w *failWriter) Write(p []byte) (int, error) {
	if len(p) > w.n {
		k := w.n
		w.n = 0
		return k, errors.New("disk full")
	}
	w.n -= len(p)
	return len(p), nil
}

func TestEncodeError(t *testing.T) {
	tensors := []Tensor{{Name: "a", Dtype: U8, Shape: []int{1 << 21}, Data: make([]byte, 1<<21)}}
	n, err := Encode(&failWriter{n: 1000}, tensors, nil)
	if err == nil || n != 1000 {
		t.Errorf("Encode = %d, %v; want 1000, disk full", n, err)
	}
}

// TestReplaceWhileMapped checks that Write replaces a file atomically
// without disturbing an existing mapping of the old contents.
func TestReplaceWhileMapped(t *testing.T) {
	path := filepath.Join(t.TempDir(), "m.safetensors")
	r := rand.New(rand.NewPCG(2, 2))
	old := []Tensor{randTensor(r, "w", F32, 1000)}
	if err := Write(path, old, map[string]string{"v": "1"}); err != nil {
		t.Fatal(err)
	}
	f1, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f1.Close()
	newer := []Tensor{randTensor(r, "w", F32, 2000), randTensor(r, "b", BF16, 3)}
	if err := Write(path, newer, map[string]string{"v": "2"}); err != nil {
		t.Fatal(err)
	}
	checkFile(t, f1, old, map[string]string{"v": "1"})
	f2, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f2.Close()
	checkFile(t, f2, newer, map[string]string{"v": "2"})
}

func TestCloseKeep(t *testing.T) {
	path := filepath.Join(t.TempDir(), "k.safetensors")
	tensors := []Tensor{{Name: "a", Dtype: U8, Shape: []int{3}, Data: []byte{1, 2, 3}}}
	if err := Write(path, tensors, nil); err != nil {
		t.Fatal(err)
	}
	f, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if f.Bytes("a") != nil {
		t.Error("Bytes after Close is not nil")
	}
	if err := f.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	g, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	b := g.Bytes("a")
	g.Keep()
	g.Close()
	if !bytes.Equal(b, []byte{1, 2, 3}) { // still mapped
		t.Errorf("kept data = %v", b)
	}
	if g.Bytes("nope") != nil {
		t.Error("Bytes of unknown name is not nil")
	}
	if _, ok := g.Info("nope"); ok {
		t.Error("Info of unknown name")
	}
	if _, err := Open(filepath.Join(t.TempDir(), "missing")); err == nil || errors.Is(err, ErrInvalid) {
		t.Errorf("Open(missing) = %v", err)
	}
	if _, err := Open(t.TempDir()); err == nil {
		t.Error("Open(directory) succeeded")
	}
}

// TestNoDoubleMemory opens a 200 MB file and reads all of it: with a memory
// mapping the Go heap must not grow by anything like the file size.
func TestNoDoubleMemory(t *testing.T) {
	if runtime.GOOS == "windows" || runtime.GOOS == "plan9" || runtime.GOOS == "js" || runtime.GOOS == "wasip1" {
		t.Skip("no memory mapping on this platform")
	}
	const size = 200 << 20
	path := filepath.Join(t.TempDir(), "big.safetensors")
	hdr := `{"big":{"dtype":"F32","shape":[52428800],"data_offsets":[0,209715200]}}`
	for len(hdr)%8 != 0 {
		hdr += " "
	}
	fd, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fd.Write(rawFile(hdr, 0)); err != nil {
		t.Fatal(err)
	}
	// Write real (non-zero) data in chunks so that the pages are backed.
	chunk := make([]byte, 1<<20)
	for i := range chunk {
		chunk[i] = byte(i)
	}
	for i := 0; i < size/len(chunk); i++ {
		if _, err := fd.Write(chunk); err != nil {
			t.Fatal(err)
		}
	}
	if err := fd.Close(); err != nil {
		t.Fatal(err)
	}
	chunk = nil
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	f, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b := f.Bytes("big")
	if len(b) != size {
		t.Fatalf("len = %d", len(b))
	}
	var sum uint64
	for i := 0; i < len(b); i += 4093 {
		sum += uint64(b[i])
	}
	runtime.ReadMemStats(&after)
	grow := int64(after.HeapAlloc) - int64(before.HeapAlloc)
	t.Logf("heap grew by %d bytes for a %d byte file (checksum %d)", grow, size, sum)
	if grow > 8<<20 {
		t.Errorf("heap grew by %d bytes opening a %d byte file: data was copied", grow, size)
	}
}

// checkInvariants asserts what Open promises about a file it accepted, and
// that re-encoding it gives the same tensors.
func checkInvariants(t *testing.T, f *File) {
	t.Helper()
	names := f.Names()
	if !slices.IsSorted(names) || len(names) != f.Len() {
		t.Fatalf("names not sorted: %q", names)
	}
	var tensors []Tensor
	for _, name := range names {
		info, ok := f.Info(name)
		if !ok || !info.Dtype.Valid() {
			t.Fatalf("Info(%q) = %+v, %v", name, info, ok)
		}
		b := f.Bytes(name)
		if int64(len(b)) != info.NumElements()*int64(info.Dtype.ItemSize()) || int64(len(b)) != info.Size() {
			t.Fatalf("Bytes(%q): %d bytes for %+v", name, len(b), info)
		}
		tensors = append(tensors, Tensor{Name: name, Dtype: info.Dtype, Shape: info.Shape, Data: b})
	}
	var buf bytes.Buffer
	if _, err := Encode(&buf, tensors, f.Metadata()); err != nil {
		t.Fatalf("re-encoding an accepted file: %v", err)
	}
	g, err := parse("re-encoded", buf.Bytes())
	if err != nil {
		t.Fatalf("re-encoded file rejected: %v", err)
	}
	checkFile(t, g, tensors, f.Metadata())
}

// fuzzSeeds returns valid files and corrupted variants for FuzzOpen.
func fuzzSeeds(t testing.TB) [][]byte {
	var seeds [][]byte
	var buf bytes.Buffer
	r := rand.New(rand.NewPCG(9, 9))
	tensors := []Tensor{
		randTensor(r, "a", F32, 2, 3),
		randTensor(r, "b", BF16, 4),
		randTensor(r, "s", I64),
		randTensor(r, "e", U8, 0),
	}
	if _, err := Encode(&buf, tensors, map[string]string{"format": "pt"}); err != nil {
		t.Fatal(err)
	}
	valid := bytes.Clone(buf.Bytes())
	seeds = append(seeds, valid, valid[:len(valid)-1], valid[:20])
	hf, err := os.ReadFile("testdata/forward.safetensors")
	if err != nil {
		t.Fatal(err)
	}
	hn := int(binary.LittleEndian.Uint64(hf))
	seeds = append(seeds, hf[:8+hn+64]) // header plus a little data: out of range
	seeds = append(seeds,
		rawFile(`{}`, 0),
		rawFile(`{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}`, 8),
		rawFile(`{"w":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}}`, 8),
		rawFile(`{"w":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,8]}}`, 8),
		rawFile(`{"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]},"b":{"dtype":"U8","shape":[4],"data_offsets":[2,6]}}`, 8),
		rawFile(`{"__metadata__":{"k":1}}`, 0),
		rawFile(`{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"w":{}}`, 8),
		[]byte{255, 255, 255, 255, 255, 255, 255, 255, '{'},
		[]byte{2, 0, 0, 0, 0, 0, 0, 0, '{', '}'},
	)
	return seeds
}

// FuzzOpen feeds arbitrary bytes to Open: it must never panic, and any
// file it accepts must satisfy the documented invariants.
func FuzzOpen(f *testing.F) {
	for _, s := range fuzzSeeds(f) {
		f.Add(s)
	}
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(dir, "fuzz.safetensors")
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		file, err := Open(path)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("non-format error: %v", err)
			}
			if !strings.Contains(err.Error(), path) {
				t.Fatalf("error %q does not name the file", err)
			}
			return
		}
		defer file.Close()
		checkInvariants(t, file)
	})
}
