package backend

// The op descriptors of mx's primitives. Each is pure data: its parameters as exported
// fields and a Name; the shape/dtype rule and the VJP live with the primitive in mx, the
// kernels in the backends. Unless a descriptor says otherwise, its output is a fresh
// row-major array of the output Node's shape and dtype, and float outputs are computed in
// float32 and stored in the output dtype.

// --- Creation (no inputs unless stated) ---

// Full fills the output with Value.
type Full struct{ Value float64 }

// Arange fills output element i with Start + i·Step.
type Arange struct{ Start, Step float64 }

// Linspace fills the output (N elements) with N evenly spaced values from Start to Stop
// inclusive.
type Linspace struct{ Start, Stop float64 }

// Eye writes ones on diagonal K of the (n, m) output, zeros elsewhere.
type Eye struct{ K int }

// Tri writes ones at and below diagonal K of the (n, m) output, zeros elsewhere.
type Tri struct{ K int }

// --- Elementwise ---

// BinaryKind selects a binary elementwise operation.
type BinaryKind int

// The binary operations; comparisons (Equal..LogicalOr) produce bool outputs.
const (
	Add BinaryKind = iota
	Subtract
	Multiply
	Divide
	Maximum
	Minimum
	Power
	Equal
	NotEqual
	Less
	LessEqual
	Greater
	GreaterEqual
	LogicalAnd
	LogicalOr
	FloorDivide
	Remainder
	Atan2
)

var binaryNames = [...]string{"Add", "Subtract", "Multiply", "Divide", "Maximum", "Minimum", "Power",
	"Equal", "NotEqual", "Less", "LessEqual", "Greater", "GreaterEqual", "LogicalAnd", "LogicalOr",
	"FloorDivide", "Remainder", "Atan2"}

// String returns the operation's MLX name.
func (k BinaryKind) String() string { return binaryNames[k] }

// IsComparison reports whether k produces a bool result.
func (k BinaryKind) IsComparison() bool { return k >= Equal && k <= LogicalOr }

// Binary applies Kind elementwise to inputs 0 and 1, broadcast to the output shape.
// Inputs may have different dtypes; the computation runs in PromoteTypes of the two.
type Binary struct{ Kind BinaryKind }

// UnaryKind selects a unary elementwise operation.
type UnaryKind int

// The unary operations.
const (
	Negative UnaryKind = iota
	Exp
	Log
	Log1p
	Sqrt
	Rsqrt
	Square
	Abs
	Tanh
	Sigmoid
	Silu
	Gelu
	GeluApprox
	Cos
	Sin
	Erf
	Sign
	Floor
	Ceil
	Round
	LogicalNot
	Reciprocal
	IsNaN
	IsInf
)

var unaryNames = [...]string{"Negative", "Exp", "Log", "Log1p", "Sqrt", "Rsqrt", "Square", "Abs",
	"Tanh", "Sigmoid", "Silu", "Gelu", "GeluApprox", "Cos", "Sin", "Erf", "Sign", "Floor", "Ceil",
	"Round", "LogicalNot", "Reciprocal", "IsNaN", "IsInf"}

// String returns the operation's MLX name.
func (k UnaryKind) String() string { return unaryNames[k] }

// Unary applies Kind elementwise to input 0.
type Unary struct{ Kind UnaryKind }

// Where selects input 1 where input 0 (the condition) is nonzero and input 2 elsewhere,
// all three broadcast to the output shape.
type Where struct{}

// AsType converts input 0 to the output dtype (float to int truncates; to bool tests != 0).
type AsType struct{}

// StopGradient is the identity: a view of input 0.
type StopGradient struct{}

// SiluGrad computes g·σ(x)·(1 + x·(1 − σ(x))) for x = input 0 and g = input 1.
type SiluGrad struct{}

// --- Reductions ---

// ReduceKind selects a reduction.
type ReduceKind int

// The reductions; ArgMax and ArgMin produce uint32 indices.
const (
	Sum ReduceKind = iota
	Max
	Min
	Prod
	ArgMax
	ArgMin
	LogSumExp
)

var reduceNames = [...]string{"Sum", "Max", "Min", "Prod", "ArgMax", "ArgMin", "LogSumExp"}

// String returns the reduction's MLX name.
func (k ReduceKind) String() string { return reduceNames[k] }

// Reduce reduces input 0 over Axes (sorted, non-negative); the output keeps them as
// size-1 dimensions.
type Reduce struct {
	Kind ReduceKind
	Axes []int
}

// Softmax normalises input 0 along its last axis.
type Softmax struct{}

// Cumsum is the running sum of input 0 along its last axis; Reverse runs from the end,
// and an exclusive sum (Inclusive false) leaves each element out of its own total.
type Cumsum struct{ Reverse, Inclusive bool }

// --- Shape (views unless stated) ---

// Reshape gives input 0's elements (row-major) the output shape.
type Reshape struct{}

// Transpose permutes input 0's axes: output axis i is input axis Perm[i].
type Transpose struct{ Perm []int }

// BroadcastTo broadcasts input 0 to the output shape.
type BroadcastTo struct{}

// Slice takes, per axis, Out.Shape[i] elements of input 0 from Start[i] by Step[i].
type Slice struct{ Start, Step []int }

// SliceUpdate copies input 0 and writes input 1 into the region Slice{Start, Step}
// describes (not a view).
type SliceUpdate struct{ Start, Step []int }

// Concatenate joins the inputs along Axis (not a view).
type Concatenate struct{ Axis int }

// --- Indexing ---

// Take gathers input 0 along Axis at the integer indices of input 1; the output shape is
// input 0's with Axis replaced by input 1's shape.
type Take struct{ Axis int }

// ScatterAdd adds input 2 (the updates, Take's output shape) into a copy of input 0 at
// the indices of input 1 along Axis.
type ScatterAdd struct{ Axis int }

// TakeAlongAxis gathers input 0 along Axis with indices input 1 of the output's shape.
type TakeAlongAxis struct{ Axis int }

// ScatterAddAlongAxis adds input 2 into a copy of input 0 at the indices input 1 along
// Axis (the inverse of TakeAlongAxis).
type ScatterAddAlongAxis struct{ Axis int }

// --- Linear algebra and fused kernels ---

// Matmul is the batched matrix product of inputs 0 and 1 (batch axes broadcast).
type Matmul struct{}

// RMSNorm computes x / sqrt(mean(x², last axis) + Eps) · w for x = input 0, w = input 1.
type RMSNorm struct{ Eps float32 }

// RMSNormGrad is RMSNorm's backward pass for inputs (x, w, g): the input gradient, or the
// weight gradient (summed over rows, shape of w) when Weight is set.
type RMSNormGrad struct {
	Eps    float32
	Weight bool
}

// LayerNorm normalises input 0 over its last axis and applies weight input 1 and bias
// input 2.
type LayerNorm struct{ Eps float32 }

// RoPE rotates the first Dims features of input 0's last axis by position·InvFreq[i]
// (positions Offset, Offset+1, ... along the second-to-last axis, times Scale);
// Traditional rotates adjacent pairs, otherwise halves; Inverse rotates backwards.
type RoPE struct {
	Dims        int
	Traditional bool
	InvFreq     []float32
	Scale       float32
	Offset      int
	Inverse     bool
}

// ScaledDotProductAttention computes softmax(Scale·q·kᵀ [+ causal mask])·v for inputs
// q (B, Hq, L, D), k (B, Hkv, S, D), v (B, Hkv, S, Dv), Hq a multiple of Hkv.
type ScaledDotProductAttention struct {
	Scale  float32
	Causal bool
}

// ScaledDotProductAttentionGrad computes the gradients of q, k and v for inputs
// (q, k, v, dOut), packed end to end in one flat output.
type ScaledDotProductAttentionGrad struct {
	Scale  float32
	Causal bool
}

// --- Quantization ---

// Dequantize computes scale·q + bias for packed uint32 codes input 0 with scales
// input 1 and biases input 2 (one per GroupSize columns), Bits bits per code.
type Dequantize struct{ GroupSize, Bits int }

// QuantizedMatmul is x @ Wᵀ (Transpose) or x @ W for x = input 0 and the quantized
// W = (codes input 1, scales input 2, biases input 3).
type QuantizedMatmul struct {
	Transpose       bool
	GroupSize, Bits int
}

// --- Random (input 0 is a uint32 key of 2 elements; Threefry-2x32 counters) ---

// RandomSplit writes Out.Shape[0] new keys derived from the key.
type RandomSplit struct{}

// RandomBits writes uniformly random uint32 words.
type RandomBits struct{}

// RandomUniform writes values uniform in [Low, High).
type RandomUniform struct{ Low, High float64 }

// RandomNormal writes normal values with the given Mean and Std.
type RandomNormal struct{ Mean, Std float64 }

// RandomTruncatedNormal writes standard normal values restricted to [Lower, Upper].
type RandomTruncatedNormal struct{ Lower, Upper float64 }

// RandomInt writes integers uniform in [Low, High).
type RandomInt struct{ Low, High int }

// --- Graph structure (views of input 0) ---

// Depends is input 0 unchanged; the other inputs only order the graph.
type Depends struct{}

// Checkpoint is input 0 (the checkpointed function's output) unchanged; the other
// inputs are the function's inputs, from which its VJP recomputes it.
type Checkpoint struct{}

// --- Compiled (mx.Compile) ---

// Fused computes a chain of elementwise ops in one pass over memory: the output is its
// last step. Registers 0..len(inputs)-1 hold the inputs (broadcast to the output shape),
// register len(inputs)+j the result of Steps[j]. Every register holds float32 values:
// each step computes as its own kernel would (Unary, Binary and AsType on floats, Where
// with a float result, Full for a constant) and rounds its result to its Dtype (float16,
// bfloat16; bool results are 0 or 1), so the output has the same bits as the unfused ops.
type Fused struct{ Steps []FusedStep }

// FusedStep is one op of a Fused chain: Op applied to the registers Args, its result of
// dtype Dtype.
type FusedStep struct {
	Op    Op
	Args  []int
	Dtype Dtype
}
