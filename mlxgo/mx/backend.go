package mx

import (
	"fmt"
	"os"
	"sync"

	"github.com/mlxgo/mlxgo/mlxgo/backend"
	"github.com/mlxgo/mlxgo/mlxgo/backend/cpu"
)

// Backend is an executor of graphs: it runs the kernels of a tape of op descriptors
// (package backend explains the interface). The CPU backend (package cpu) is built in;
// others register themselves with backend.Register when their package is linked in.
type Backend = backend.Executor

// BackendInfo says which backend Eval uses and why.
type BackendInfo struct {
	Backend
	// Reason is why this backend runs: "default", "MLXGO_BACKEND=<name>" or "SetBackend".
	Reason string
}

// String returns the backend's name and the reason, e.g. "cpu (default)".
func (b BackendInfo) String() string { return b.Name() + " (" + b.Reason + ")" }

var (
	backendMu   sync.Mutex
	backendOnce sync.Once
	active      BackendInfo
	chooseErr   string // why the backend MLXGO_BACKEND names cannot run; repeated at every use
)

// chooseBackend picks the backend at first use: the one MLXGO_BACKEND names (a panic
// saying why when it cannot run here), else the first registered backend that declares
// itself the default on this machine and opens, else the CPU backend.
func chooseBackend() {
	if name := os.Getenv("MLXGO_BACKEND"); name != "" {
		b, err := backend.Open(name)
		if err != nil {
			chooseErr = fmt.Sprintf("mx: MLXGO_BACKEND=%s: %v", name, err)
			return
		}
		active = BackendInfo{b, "MLXGO_BACKEND=" + name}
		return
	}
	reason := "default"
	for _, name := range backend.Defaults() {
		b, err := backend.Open(name)
		if err == nil {
			active = BackendInfo{b, "default on this machine"}
			return
		}
		reason = fmt.Sprintf("default; %s unavailable: %v", name, err)
	}
	active = BackendInfo{cpu.Executor{}, reason}
}

// CurrentBackend returns the backend Eval uses and why it was chosen.
func CurrentBackend() BackendInfo {
	backendOnce.Do(chooseBackend)
	if chooseErr != "" && active.Backend == nil {
		panic(chooseErr)
	}
	backendMu.Lock()
	defer backendMu.Unlock()
	return active
}

func current() Backend { return CurrentBackend().Backend }

// SetBackend makes b the executor of every later Eval and returns the previous one.
// Arrays computed by one backend can be inputs of another: each backend reads foreign
// storage through its host path (backend.HostBytes).
func SetBackend(b Backend) Backend {
	backendOnce.Do(chooseBackend)
	evalMu.Lock()
	defer evalMu.Unlock()
	backendMu.Lock()
	defer backendMu.Unlock()
	old := active.Backend
	active = BackendInfo{b, "SetBackend"}
	return old
}

// opErrors turns a kernel's *backend.OpError into mx's *Error naming the caller; it
// must be deferred directly.
func opErrors() {
	r := recover()
	if r == nil {
		return
	}
	if e, ok := r.(*backend.OpError); ok {
		panic(&Error{Op: e.Op, Msg: e.Msg, Caller: callerOutside()})
	}
	panic(r)
}
