package backend

// Node is what a kernel sees of one array: its shape and dtype, and — once computed —
// its storage and the layout of its elements in it. mx gives every array one Node for
// its whole life; kernels read their inputs' Nodes and fill their output's.
type Node struct {
	Shape []int // do not modify
	Dtype Dtype

	Storage Storage // nil until computed; the Node owns one reference
	Strides []int   // element strides; nil means row-major contiguous
	Offset  int     // element offset of the first element in Storage

	// Donor is set by the executor, while a step runs, on an input of the step that no
	// later step reads and nothing else keeps: the step's kernel may give that input's
	// storage to its output instead of allocating (MLX's buffer donation). It is
	// cleared when the step ends; kernels that do not donate ignore it.
	Donor bool
}

// Size returns the number of elements.
func (n *Node) Size() int { return Numel(n.Shape) }

// Ndim returns the number of dimensions.
func (n *Node) Ndim() int { return len(n.Shape) }

// NBytes returns the size of the elements in bytes.
func (n *Node) NBytes() int { return n.Size() * n.Dtype.Size() }

// Computed reports whether the node holds storage.
func (n *Node) Computed() bool { return n.Storage != nil }

// StridesOrDefault returns the node's strides, row-major ones when it has none.
func (n *Node) StridesOrDefault() []int {
	if n.Strides != nil {
		return n.Strides
	}
	return RowMajorStrides(n.Shape)
}

// IsContiguous reports whether the elements are row-major and dense from Offset.
func (n *Node) IsContiguous() bool {
	if n.Strides == nil {
		return true
	}
	s := 1
	for i := len(n.Shape) - 1; i >= 0; i-- {
		if n.Shape[i] != 1 && n.Strides[i] != s {
			return false
		}
		s *= n.Shape[i]
	}
	return true
}

// Set gives the node storage holding its elements row-major from offset 0; the node
// takes over the caller's reference. Storage it held before is released.
func (n *Node) Set(s Storage) { n.SetView(s, nil, 0) }

// SetView makes the node a view into s with the given strides (nil: row-major) and
// offset; the node takes over the caller's reference. Storage it held before is released.
func (n *Node) SetView(s Storage, strides []int, offset int) {
	if n.Storage != nil {
		n.Storage.Release()
	}
	n.Storage, n.Strides, n.Offset = s, strides, offset
}

// Free releases the node's storage and forgets its layout.
func (n *Node) Free() {
	if n.Storage != nil {
		n.Storage.Release()
	}
	n.Storage, n.Strides, n.Offset = nil, nil, 0
}

// Numel returns the number of elements of shape.
func Numel(shape []int) int {
	n := 1
	for _, d := range shape {
		n *= d
	}
	return n
}

// RowMajorStrides returns the element strides of a dense row-major array of shape.
func RowMajorStrides(shape []int) []int {
	st := make([]int, len(shape))
	s := 1
	for i := len(shape) - 1; i >= 0; i-- {
		st[i] = s
		s *= shape[i]
	}
	return st
}
