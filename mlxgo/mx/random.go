package mx

import (
	"sync"

	"github.com/mlxgo/mlxgo/mlxgo/backend"
)

// randPrim draws its output from a key (input 0); its descriptor says how.
type randPrim struct{ op backend.Op }

func (p randPrim) Op() backend.Op                      { return p.op }
func (randPrim) VJP(in []*Array, _, _ *Array) []*Array { return make([]*Array, len(in)) }

var (
	globalMu  sync.Mutex
	globalKey = [2]uint32{0, 0}
	// lazyKey, when set, is the global key as an array (installed by RandomState.Set,
	// for instance by a compiled function): keys are then split in the graph.
	lazyKey *Array
)

// Seed resets the global key sequence used when no key is given.
func Seed(seed uint64) {
	globalMu.Lock()
	globalKey = [2]uint32{uint32(seed >> 32), uint32(seed)}
	lazyKey = nil
	globalMu.Unlock()
}

// nextKey splits the global key, returning a fresh subkey.
func nextKey() *Array {
	globalMu.Lock()
	defer globalMu.Unlock()
	if lazyKey != nil {
		// The same split as below, as graph ops: row 0 is the next key, row 1 the subkey.
		k := SplitKey(lazyKey, 2)
		lazyKey = Reshape(SliceAxis(k, 0, 0, 1), 2)
		return Reshape(SliceAxis(k, 0, 1, 2), 2)
	}
	a, b := backend.Threefry2x32(globalKey[0], globalKey[1], 0, 0)
	c, d := backend.Threefry2x32(globalKey[0], globalKey[1], 0, 1)
	globalKey = [2]uint32{a, b}
	return FromSlice([]uint32{c, d})
}

// GlobalKey returns the current state of the global key sequence (for checkpoints),
// evaluating it when it is an array.
func GlobalKey() [2]uint32 {
	globalMu.Lock()
	defer globalMu.Unlock()
	if lazyKey != nil {
		v := lazyKey.Ints()
		globalKey, lazyKey = [2]uint32{uint32(v[0]), uint32(v[1])}, nil
	}
	return globalKey
}

// SetGlobalKey restores a state returned by GlobalKey.
func SetGlobalKey(k [2]uint32) { globalMu.Lock(); globalKey, lazyKey = k, nil; globalMu.Unlock() }

// RandomState is the global key sequence as compile state (MLX's mx.random.state): a
// function compiled with it among its Inputs and Outputs draws new random numbers at
// every call, the same ones as the uncompiled function, instead of replaying the key
// it was traced with.
var RandomState = State{
	Get: func() any {
		globalMu.Lock()
		defer globalMu.Unlock()
		if lazyKey != nil {
			return lazyKey
		}
		return FromSlice(globalKey[:])
	},
	Set: func(t any) {
		globalMu.Lock()
		defer globalMu.Unlock()
		lazyKey = t.(*Array)
	},
}

// Key returns a PRNG key (a uint32 array of shape [2]) for seed.
func Key(seed uint64) *Array { return FromSlice([]uint32{uint32(seed >> 32), uint32(seed)}) }

func keyOrNext(key *Array) *Array {
	if key == nil {
		return nextKey()
	}
	if key.Size() != 2 {
		panicf("random", "a key must have 2 elements, got shape %v", key.shape)
	}
	return key
}

// SplitKey splits key into num new keys, shape [num, 2].
func SplitKey(key *Array, num int) *Array {
	key = keyOrNext(key)
	return newArray([]int{num, 2}, Uint32, randPrim{backend.RandomSplit{}}, key)
}

// Bits returns uniformly random uint32 words.
func Bits(shape []int, key *Array) *Array {
	key = keyOrNext(key)
	return newArray(checkShape("Bits", shape), Uint32, randPrim{backend.RandomBits{}}, key)
}

func floatRand(op backend.Op, shape []int, dt Dtype, key *Array) *Array {
	key = keyOrNext(key)
	if !dt.IsFloat() {
		panicf(op.Name(), "needs a floating-point dtype, got %s", dt)
	}
	return newArray(checkShape(op.Name(), shape), dt, randPrim{op}, key)
}

// Uniform returns values uniform in [low, high). A nil key draws from the global sequence.
func Uniform(low, high float64, shape []int, dt Dtype, key *Array) *Array {
	return floatRand(backend.RandomUniform{Low: low, High: high}, shape, dt, key)
}

// Normal returns normally distributed values with the given mean and standard deviation.
func Normal(shape []int, mean, std float64, dt Dtype, key *Array) *Array {
	return floatRand(backend.RandomNormal{Mean: mean, Std: std}, shape, dt, key)
}

// TruncatedNormal returns standard normal values restricted to [lower, upper].
func TruncatedNormal(lower, upper float64, shape []int, dt Dtype, key *Array) *Array {
	return floatRand(backend.RandomTruncatedNormal{Lower: lower, Upper: upper}, shape, dt, key)
}

// Bernoulli returns true with probability p.
func Bernoulli(p float64, shape []int, key *Array) *Array {
	return Less(Uniform(0, 1, shape, Float32, key), p)
}

// RandInt returns int32 values uniform in [low, high).
func RandInt(low, high int, shape []int, key *Array) *Array {
	if high <= low {
		panicf("RandInt", "empty range [%d, %d)", low, high)
	}
	key = keyOrNext(key)
	return newArray(checkShape("RandInt", shape), Int32, randPrim{backend.RandomInt{Low: low, High: high}}, key)
}

// Categorical samples indices along axis from the unnormalised log-probabilities logits
// (the Gumbel-max trick).
func Categorical(logits *Array, axis int, key *Array) *Array {
	u := Uniform(1e-20, 1, logits.shape, Float32, key)
	gumbel := Negative(Log(Negative(Log(u))))
	return ArgMax(Add(StopGradient(logits), gumbel), axis, false)
}
