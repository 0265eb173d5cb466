package distributed

import (
	"fmt"
	"os"
	"runtime"
	"unsafe"

	"github.com/ebitengine/purego"
)

// mpiLibs are the Open MPI libraries tried in order (MLXGO_MPI_LIB names another one).
var mpiLibs = []string{"libmpi.so.40", "libmpi.so", "libmpi.dylib", "libmpi.40.dylib"}

// Open MPI's MPI_THREAD_SERIALIZED: calls come from one thread at a time (here, always
// the same locked thread).
const mpiThreadSerialized = 2

// mpi is Open MPI loaded with purego. Handles (MPI_COMM_WORLD, MPI_FLOAT, MPI_SUM...) are
// the addresses of Open MPI's predefined objects, as its mpi.h defines them. Every call runs
// on one OS thread (calls), so MPI sees a single caller whatever goroutine asks.
type mpi struct {
	lib                  string
	world, sum           uintptr
	f32, i32, i64, byteT uintptr
	initThread, commRank uintptr
	commSize, allreduce  uintptr
	allgather, barrier   uintptr
	finalize             uintptr
	calls                chan func()
}

func loadMPI() (*mpi, error) {
	libs := mpiLibs
	if p := os.Getenv("MLXGO_MPI_LIB"); p != "" {
		libs = []string{p}
	}
	var h uintptr
	var err error
	m := &mpi{}
	for _, l := range libs {
		// RTLD_GLOBAL: Open MPI's plugins (mca_*.so) resolve symbols of libmpi itself.
		if h, err = purego.Dlopen(l, purego.RTLD_NOW|purego.RTLD_GLOBAL); err == nil {
			m.lib = l
			break
		}
	}
	if m.lib == "" {
		return nil, fmt.Errorf("distributed: cannot load Open MPI (%v; install Debian's openmpi-bin or set MLXGO_MPI_LIB): %w", libs, err)
	}
	syms := []struct {
		p    *uintptr
		name string
	}{
		{&m.world, "ompi_mpi_comm_world"}, {&m.sum, "ompi_mpi_op_sum"},
		{&m.f32, "ompi_mpi_float"}, {&m.i32, "ompi_mpi_int"}, {&m.i64, "ompi_mpi_long_long_int"}, {&m.byteT, "ompi_mpi_byte"},
		{&m.initThread, "MPI_Init_thread"}, {&m.commRank, "MPI_Comm_rank"}, {&m.commSize, "MPI_Comm_size"},
		{&m.allreduce, "MPI_Allreduce"}, {&m.allgather, "MPI_Allgather"}, {&m.barrier, "MPI_Barrier"},
		{&m.finalize, "MPI_Finalize"},
	}
	for _, s := range syms {
		if *s.p, err = purego.Dlsym(h, s.name); err != nil {
			return nil, fmt.Errorf("distributed: %s has no %s (Open MPI is required; MPICH names its handles differently): %w", m.lib, s.name, err)
		}
	}
	m.calls = make(chan func())
	go func() {
		runtime.LockOSThread()
		for f := range m.calls {
			f()
		}
	}()
	return m, nil
}

// do runs f on the MPI thread and waits for it.
func (m *mpi) do(f func()) {
	done := make(chan struct{})
	m.calls <- func() { f(); close(done) }
	<-done
}

func (m *mpi) call(fn uintptr, args ...uintptr) int {
	r, _, _ := purego.SyscallN(fn, args...)
	return int(int32(r))
}

func (m *mpi) check(name string, rc int) error {
	if rc != 0 {
		return fmt.Errorf("distributed: %s failed with MPI error %d", name, rc)
	}
	return nil
}

// init calls MPI_Init_thread and returns this process's rank and the world size.
func (m *mpi) init() (rank, size int, err error) {
	m.do(func() {
		var provided, r, s int32
		if err = m.check("MPI_Init_thread", m.call(m.initThread, 0, 0, mpiThreadSerialized, uintptr(unsafe.Pointer(&provided)))); err != nil {
			return
		}
		if err = m.check("MPI_Comm_rank", m.call(m.commRank, m.world, uintptr(unsafe.Pointer(&r)))); err != nil {
			return
		}
		err = m.check("MPI_Comm_size", m.call(m.commSize, m.world, uintptr(unsafe.Pointer(&s))))
		rank, size = int(r), int(s)
	})
	return
}

// maxCount is the most elements one MPI call takes (its count is a C int).
const maxCount = 1<<31 - 1

// allreduceSum sums n elements of type dt (an MPI datatype handle, elemSize bytes each)
// from send into recv across all ranks, in chunks of at most maxCount elements.
func (m *mpi) allreduceSum(send, recv []byte, dt uintptr, elemSize int) (err error) {
	n := len(send) / elemSize
	m.do(func() {
		for off := 0; off < n && err == nil; off += maxCount {
			c := min(maxCount, n-off)
			err = m.check("MPI_Allreduce", m.call(m.allreduce,
				uintptr(unsafe.Pointer(&send[off*elemSize])), uintptr(unsafe.Pointer(&recv[off*elemSize])),
				uintptr(c), dt, m.sum, m.world))
		}
	})
	runtime.KeepAlive(send)
	runtime.KeepAlive(recv)
	return
}

// gather gathers len(send) bytes from every rank into recv (size*len(send) bytes), in
// rank order.
func (m *mpi) gather(send, recv []byte) (err error) {
	if len(send) > maxCount {
		return fmt.Errorf("distributed: AllGather of %d bytes per rank is over MPI's %d", len(send), maxCount)
	}
	m.do(func() {
		err = m.check("MPI_Allgather", m.call(m.allgather,
			uintptr(unsafe.Pointer(&send[0])), uintptr(len(send)), m.byteT,
			uintptr(unsafe.Pointer(&recv[0])), uintptr(len(send)), m.byteT, m.world))
	})
	runtime.KeepAlive(send)
	runtime.KeepAlive(recv)
	return
}

func (m *mpi) barrierCall() (err error) {
	m.do(func() { err = m.check("MPI_Barrier", m.call(m.barrier, m.world)) })
	return
}

func (m *mpi) finalizeCall() (err error) {
	m.do(func() { err = m.check("MPI_Finalize", m.call(m.finalize)) })
	return
}
