package backend

// Storage is a block of memory holding an array's elements, owned by the backend that
// produced it. It is reference counted: every Node that holds it owns one reference
// (views share their input's storage and take a reference of their own), and the last
// Release gives the memory back to its backend.
type Storage interface {
	// Backend is the name of the executor that owns the memory, e.g. "cpu".
	Backend() string
	// Len is the size in bytes.
	Len() int
	// Retain takes one more reference.
	Retain()
	// Release drops one reference.
	Release()
}

// HostStorage is storage in host memory that the CPU reads and writes in place.
type HostStorage interface {
	Storage
	// HostBytes returns the memory itself (not a copy), valid while a reference is held.
	HostBytes() []byte
}

// DeviceStorage is storage the CPU cannot address (device memory, or an array another
// runtime keeps): its bytes reach the host only by copy.
type DeviceStorage interface {
	Storage
	// CopyToHost copies the Len() bytes into dst.
	CopyToHost(dst []byte)
}

// HostBytes is the one host-access path for any storage: the memory itself for
// HostStorage (mapped reports true: writes change the array), a fresh copy for
// DeviceStorage (mapped false). It panics for storage that is neither.
func HostBytes(s Storage) (b []byte, mapped bool) {
	switch s := s.(type) {
	case HostStorage:
		return s.HostBytes(), true
	case DeviceStorage:
		b := make([]byte, s.Len())
		s.CopyToHost(b)
		return b, false
	}
	panic("backend: storage of backend " + s.Backend() + " has no host access (neither HostStorage nor DeviceStorage)")
}

// Memory is implemented by executors that account for the memory they hold; mx's
// ActiveMemory, PeakMemory, CacheMemory, ResetPeakMemory, ClearCache and SetCacheLimit
// report the current executor's figures when it implements Memory, the CPU pool's
// otherwise.
type Memory interface {
	ActiveMemory() int64
	PeakMemory() int64
	CacheMemory() int64
	ResetPeakMemory()
	ClearCache()
	SetCacheLimit(limit int64) int64
}
