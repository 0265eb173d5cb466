package safetensors

import (
	"path/filepath"
	"testing"
	"unsafe"

	"github.com/mlxgo/mlxgo/mlxgo/internal/hugemem"
)

// TestRelease: after Release, the pages of a tensor that was read are no longer
// resident in the process, and the tensor still reads the same, from the file.
func TestRelease(t *testing.T) {
	data := make([]byte, 8<<20)
	for i := range data {
		data[i] = byte(i*7 + i>>12)
	}
	path := filepath.Join(t.TempDir(), "w.safetensors")
	if err := Write(path, []Tensor{{Name: "w", Dtype: U8, Shape: []int{len(data)}, Data: data}}, nil); err != nil {
		t.Fatal(err)
	}
	f, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b := f.Bytes("w")
	sum := 0
	for _, v := range b { // fault every page in
		sum += int(v)
	}
	addr := uintptr(unsafe.Pointer(&b[0]))
	before, _ := hugemem.SmapsKiB(addr, "Rss")
	f.Release("w")
	after, ok := hugemem.SmapsKiB(addr, "Rss")
	if !ok {
		t.Skip("no /proc/self/smaps")
	}
	t.Logf("resident %d KiB before Release, %d after (sum %d)", before, after, sum)
	if before < 7<<10 || after > 64 {
		t.Fatalf("resident %d KiB before Release, %d KiB after: want about 8 MiB, then none", before, after)
	}
	if string(f.Bytes("w")) != string(data) {
		t.Fatal("the tensor reads differently after Release")
	}
	f.Release("missing") // an unknown name does nothing
}
