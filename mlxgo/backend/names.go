package backend

// Name returns "Full".
func (Full) Name() string { return "Full" }

// Name returns "Arange".
func (Arange) Name() string { return "Arange" }

// Name returns "Linspace".
func (Linspace) Name() string { return "Linspace" }

// Name returns "Eye".
func (Eye) Name() string { return "Eye" }

// Name returns "Tri".
func (Tri) Name() string { return "Tri" }

// Name returns the operation's name, e.g. "Add".
func (o Binary) Name() string { return o.Kind.String() }

// Name returns the operation's name, e.g. "Exp".
func (o Unary) Name() string { return o.Kind.String() }

// Name returns "Where".
func (Where) Name() string { return "Where" }

// Name returns "AsType".
func (AsType) Name() string { return "AsType" }

// Name returns "StopGradient".
func (StopGradient) Name() string { return "StopGradient" }

// IsView reports true.
func (StopGradient) IsView() bool { return true }

// Name returns "SiluGrad".
func (SiluGrad) Name() string { return "SiluGrad" }

// Name returns the reduction's name, e.g. "Sum".
func (o Reduce) Name() string { return o.Kind.String() }

// Name returns "Softmax".
func (Softmax) Name() string { return "Softmax" }

// Name returns "Cumsum".
func (Cumsum) Name() string { return "Cumsum" }

// Name returns "Reshape".
func (Reshape) Name() string { return "Reshape" }

// IsView reports true.
func (Reshape) IsView() bool { return true }

// Name returns "Transpose".
func (Transpose) Name() string { return "Transpose" }

// IsView reports true.
func (Transpose) IsView() bool { return true }

// Name returns "BroadcastTo".
func (BroadcastTo) Name() string { return "BroadcastTo" }

// IsView reports true.
func (BroadcastTo) IsView() bool { return true }

// Name returns "Slice".
func (Slice) Name() string { return "Slice" }

// IsView reports true.
func (Slice) IsView() bool { return true }

// Name returns "SliceUpdate".
func (SliceUpdate) Name() string { return "SliceUpdate" }

// Name returns "Concatenate".
func (Concatenate) Name() string { return "Concatenate" }

// Name returns "Take".
func (Take) Name() string { return "Take" }

// Name returns "ScatterAdd".
func (ScatterAdd) Name() string { return "ScatterAdd" }

// Name returns "TakeAlongAxis".
func (TakeAlongAxis) Name() string { return "TakeAlongAxis" }

// Name returns "ScatterAddAlongAxis".
func (ScatterAddAlongAxis) Name() string { return "ScatterAddAlongAxis" }

// Name returns "Matmul".
func (Matmul) Name() string { return "Matmul" }

// Name returns "RMSNorm".
func (RMSNorm) Name() string { return "RMSNorm" }

// Name returns "RMSNormGrad".
func (RMSNormGrad) Name() string { return "RMSNormGrad" }

// Name returns "LayerNorm".
func (LayerNorm) Name() string { return "LayerNorm" }

// Name returns "RoPE".
func (RoPE) Name() string { return "RoPE" }

// Name returns "ScaledDotProductAttention".
func (ScaledDotProductAttention) Name() string { return "ScaledDotProductAttention" }

// Name returns "ScaledDotProductAttentionGrad".
func (ScaledDotProductAttentionGrad) Name() string { return "ScaledDotProductAttentionGrad" }

// Name returns "Dequantize".
func (Dequantize) Name() string { return "Dequantize" }

// Name returns "QuantizedMatmul".
func (QuantizedMatmul) Name() string { return "QuantizedMatmul" }

// Name returns "Split".
func (RandomSplit) Name() string { return "Split" }

// Name returns "Bits".
func (RandomBits) Name() string { return "Bits" }

// Name returns "Uniform".
func (RandomUniform) Name() string { return "Uniform" }

// Name returns "Normal".
func (RandomNormal) Name() string { return "Normal" }

// Name returns "TruncatedNormal".
func (RandomTruncatedNormal) Name() string { return "TruncatedNormal" }

// Name returns "RandInt".
func (RandomInt) Name() string { return "RandInt" }

// Name returns "Depends".
func (Depends) Name() string { return "Depends" }

// IsView reports true.
func (Depends) IsView() bool { return true }

// Name returns "Checkpoint".
func (Checkpoint) Name() string { return "Checkpoint" }

// IsView reports true.
func (Checkpoint) IsView() bool { return true }

// Name returns "Compiled" followed by the names of the fused steps, as MLX names its
// compiled primitives (e.g. "CompiledMultiplySigmoid").
func (o Fused) Name() string {
	s := "Compiled"
	for _, st := range o.Steps {
		if _, ok := st.Op.(Full); !ok {
			s += st.Op.Name()
		}
	}
	return s
}
