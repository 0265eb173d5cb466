package mlxc

import (
	"encoding/binary"
	"errors"
	"math"
	"strings"
	"sync"
	"testing"
)

// testLib returns the loaded library, or skips the test when mlx-c is not available
// (CI has no MLX). A library named by MLXGO_MLXC_PATH that fails to load fails the test.
func testLib(t testing.TB) *Lib {
	t.Helper()
	l, err := Load()
	if err != nil {
		if strings.Contains(err.Error(), EnvPath+"=") {
			t.Fatal(err)
		}
		t.Skipf("mlx-c not available, set %s to run the MLX tests: %v", EnvPath, err)
	}
	return l
}

func f32bytes(v ...float32) []byte {
	b := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(x))
	}
	return b
}

func bytesF32(b []byte) []float32 {
	v := make([]float32, len(b)/4)
	for i := range v {
		v[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return v
}

func TestOpenMissingLibraryNamesIt(t *testing.T) {
	_, err := open([]string{"/nonexistent/libmlxc.so"})
	if err == nil || !strings.Contains(err.Error(), "/nonexistent/libmlxc.so") {
		t.Fatalf("error %v does not name the library", err)
	}
}

func TestVersionAndDevice(t *testing.T) {
	l := testLib(t)
	v := l.Version()
	if !strings.HasPrefix(v, "mlx-c 0.") || !strings.Contains(v, "MLX 0.") {
		t.Fatalf("Version() = %q", v)
	}
	if d := l.Device(); d != "cpu" && d != "gpu" {
		t.Fatalf("Device() = %q", d)
	}
	t.Log(v, l.Device(), l.Path())
}

func TestArraysInAndOut(t *testing.T) {
	l := testLib(t)
	err := l.Do(func(c *Ctx) {
		a := c.FromBytes(f32bytes(1, 2, 3, 4, 5, 6), []int{2, 3}, Float32)
		defer c.Free(a)
		b := c.FromBytes(f32bytes(10, 20, 30), []int{3}, Float32)
		defer c.Free(b)
		s := c.Binary("add", a, b)
		defer c.Free(s)
		tr := c.Transpose(s, []int{1, 0}) // a strided view: copied out row-major
		defer c.Free(tr)
		c.Eval(s, tr)
		if got := c.Shape(tr); len(got) != 2 || got[0] != 3 || got[1] != 2 {
			t.Errorf("shape %v", got)
		}
		got := bytesF32(c.Bytes(tr))
		want := []float32{11, 14, 22, 25, 33, 36}
		for i := range want {
			if got[i] != want[i] {
				t.Fatalf("got %v, want %v", got, want)
			}
		}
		if c.Dtype(tr) != Float32 {
			t.Errorf("dtype %v", c.Dtype(tr))
		}
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestShapeMismatchIsAnErrorWithMLXMessage(t *testing.T) {
	l := testLib(t)
	err := l.Do(func(c *Ctx) {
		a := c.FromBytes(make([]byte, 4*6), []int{2, 3}, Float32)
		b := c.FromBytes(make([]byte, 4*20), []int{4, 5}, Float32)
		defer c.Free(a)
		defer c.Free(b)
		c.Matmul(a, b)
		t.Error("Matmul of 2x3 by 4x5 returned")
	})
	var e *Error
	if !errors.As(err, &e) || e.Func != "mlx_matmul" || !strings.Contains(e.Msg, "matmul") {
		t.Fatalf("err = %v, want an *Error from mlx_matmul with MLX's message", err)
	}
	// The process and the library go on.
	if err := l.Do(func(c *Ctx) { c.Free(c.Scalar(1)) }); err != nil {
		t.Fatal(err)
	}
}

func TestOutOfMemoryIsAnError(t *testing.T) {
	l := testLib(t)
	if l.Device() == "cpu" {
		t.Skip("MLX's CPU allocator does not report failed allocations (the MLX backend " +
			"refuses oversized results itself: backend/mlx TestOutOfMemoryPanicsInsteadOfExiting)")
	}
	err := l.Do(func(c *Ctx) {
		v := c.Scalar(1)
		defer c.Free(v)
		huge := c.Full([]int{1 << 20, 1 << 20, 1 << 10}, v, Float32) // 4 PiB
		defer c.Free(huge)
		c.Eval(huge)
	})
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("err = %v, want an *Error", err)
	}
	t.Log(err)
}

func TestGoPanicInDoReachesCaller(t *testing.T) {
	l := testLib(t)
	defer func() {
		if r := recover(); r == nil || !strings.Contains(r.(error).Error(), "boom") {
			t.Fatalf("recovered %v", r)
		}
	}()
	_ = l.Do(func(c *Ctx) { panic("boom") })
}

func TestDoFromManyGoroutines(t *testing.T) {
	l := testLib(t)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			err := l.Do(func(c *Ctx) {
				a := c.FromBytes(f32bytes(float32(g)), []int{1}, Float32)
				defer c.Free(a)
				sq := c.Unary("square", a)
				defer c.Free(sq)
				if got := bytesF32(c.Bytes(sq))[0]; got != float32(g*g) {
					t.Errorf("goroutine %d: %v", g, got)
				}
			})
			if err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
}
