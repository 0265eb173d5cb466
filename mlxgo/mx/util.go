package mx

import (
	"fmt"
	"math"
	"reflect"
	"slices"
	"sort"
	"unsafe"
)

func sortValues(keys []reflect.Value) {
	sort.Slice(keys, func(i, j int) bool { return fmt.Sprint(keys[i].Interface()) < fmt.Sprint(keys[j].Interface()) })
}
func cloneInts(s []int) []int { return append([]int(nil), s...) }

func float64frombits(x uint64) float64 { return math.Float64frombits(x) }

func sameShape(a, b []int) bool { return slices.Equal(a, b) }

func viewAs[T any](b []byte) []T {
	if len(b) == 0 {
		return nil
	}
	var z T
	return unsafe.Slice((*T)(unsafe.Pointer(&b[0])), len(b)/int(unsafe.Sizeof(z)))
}
