// Package distributed is MLX's mx.distributed: the ranks of a job launched by mpirun
// (or `mlxgo launch`) sum and gather arrays with differentiable ops.
//
//	g, err := distributed.Init()          // Size 1 when not launched by mpirun
//	loss, grads := lossAndGrad(model, myShardOfTheBatch)
//	sum := distributed.AllSum(flatGrads)  // lazy: MPI runs inside mx.Eval
//
// The collectives go through Open MPI's libmpi, loaded at run time with purego (no cgo).
// A process that was not started by an MPI launcher never loads MPI: it is rank 0 of a
// group of 1, where AllSum and AllGather return their input.
//
// Every rank must issue the same collectives in the same order. A collective that waits
// longer than Timeout for the other ranks ends the process with an error (a rank has
// died); mpirun itself also ends the remaining ranks when one dies.
package distributed

import (
	"fmt"
	"os"
	"strconv"
	"sync"
	"time"
)

// Group is a set of processes that run collectives together (MLX's mx.distributed.Group).
// Only the world group exists.
type Group struct {
	rank, size int
	mpi        *mpi // nil for a group of one
}

// Rank is this process's index in the group, from 0.
func (g *Group) Rank() int { return g.rank }

// Size is the number of processes in the group.
func (g *Group) Size() int { return g.size }

// Backend names what carries the collectives: "mpi (libmpi.so.40)" or "none" for a group of one.
func (g *Group) Backend() string {
	if g.mpi == nil {
		return "none"
	}
	return "mpi (" + g.mpi.lib + ")"
}

var (
	once    sync.Once
	world   *Group
	initErr error
)

// Init joins the job this process was launched in and returns the world group. Under
// mpirun (Open MPI sets OMPI_COMM_WORLD_SIZE) it loads libmpi and calls MPI_Init_thread;
// otherwise, or with MLXGO_DISTRIBUTED=off, it returns a group of one and loads nothing.
// Calling it again returns the same group.
func Init() (*Group, error) {
	once.Do(func() { world, initErr = initWorld() })
	return world, initErr
}

// LaunchedSize is the number of ranks the launcher started, read from its environment
// (Open MPI's OMPI_COMM_WORLD_SIZE, or PMI_SIZE); 1 when there is none.
func LaunchedSize() int {
	for _, k := range []string{"OMPI_COMM_WORLD_SIZE", "PMI_SIZE"} {
		if n, err := strconv.Atoi(os.Getenv(k)); err == nil && n > 0 {
			return n
		}
	}
	return 1
}

// LaunchedRank is this process's rank according to the launcher's environment
// (OMPI_COMM_WORLD_RANK or PMI_RANK); 0 when there is none. It needs no MPI library.
func LaunchedRank() int {
	for _, k := range []string{"OMPI_COMM_WORLD_RANK", "PMI_RANK"} {
		if n, err := strconv.Atoi(os.Getenv(k)); err == nil && n >= 0 {
			return n
		}
	}
	return 0
}

func initWorld() (*Group, error) {
	if os.Getenv("MLXGO_DISTRIBUTED") == "off" || LaunchedSize() == 1 {
		return &Group{rank: 0, size: 1}, nil
	}
	m, err := loadMPI()
	if err != nil {
		return nil, err
	}
	r, s, err := m.init()
	if err != nil {
		return nil, err
	}
	return &Group{rank: r, size: s, mpi: m}, nil
}

// mustWorld returns the world group, initializing it; a failed Init panics with its error.
func mustWorld() *Group {
	g, err := Init()
	if err != nil {
		panic(err)
	}
	return g
}

// Rank is this process's rank in the world group (Init is called if needed).
func Rank() int { return mustWorld().rank }

// Size is the number of processes in the world group (Init is called if needed).
func Size() int { return mustWorld().size }

// Barrier waits until every rank has reached it.
func Barrier() {
	g := mustWorld()
	if g.mpi == nil {
		return
	}
	guard("Barrier", func() error { return g.mpi.barrierCall() })
}

// Finalize ends MPI (MPI_Finalize) after a final barrier; Open MPI's mpirun treats a rank
// that exits without it as failed. It does nothing in a group of one or before Init.
func Finalize() error {
	if world == nil || world.mpi == nil {
		return nil
	}
	Barrier()
	return world.mpi.finalizeCall()
}

// Timeout is how long a collective waits for the other ranks before the process ends
// with an error: a rank that died must not leave the others waiting forever. The
// default, 5 minutes, is set by MLXGO_DIST_TIMEOUT (a Go duration such as "90s").
var Timeout = envDuration("MLXGO_DIST_TIMEOUT", 5*time.Minute)

func envDuration(key string, def time.Duration) time.Duration {
	if d, err := time.ParseDuration(os.Getenv(key)); err == nil && d > 0 {
		return d
	}
	return def
}

// guard runs one collective under the Timeout watchdog. An MPI error or a timeout ends
// the process with exit status 1 after a message on stderr: a collective that fails on
// one rank cannot be recovered by the others.
func guard(name string, f func() error) {
	t := time.AfterFunc(Timeout, func() {
		fmt.Fprintf(os.Stderr, "distributed: rank %d: %s waited %v for the other ranks; one has probably died, stopping\n", world.rank, name, Timeout)
		os.Exit(1)
	})
	err := f()
	t.Stop()
	if err != nil {
		fmt.Fprintf(os.Stderr, "distributed: rank %d: %v\n", world.rank, err)
		os.Exit(1)
	}
}
