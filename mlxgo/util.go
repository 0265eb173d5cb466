package mx

import (
	"fmt"
	"math"
	"reflect"
	"sort"
)

func sortValues(keys []reflect.Value) {
	sort.Slice(keys, func(i, j int) bool { return fmt.Sprint(keys[i].Interface()) < fmt.Sprint(keys[j].Interface()) })
}

func sameShape(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func cloneInts(s []int) []int { return append([]int(nil), s...) }

func float64frombits(x uint64) float64 { return math.Float64frombits(x) }
