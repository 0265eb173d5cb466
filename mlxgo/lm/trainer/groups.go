package trainer

import (
	"runtime"

	"github.com/mlxgo/mlxgo/mlxgo/lm"
	"github.com/mlxgo/mlxgo/mlxgo/lm/data"
	mx "github.com/mlxgo/mlxgo/mlxgo/mx"
	"github.com/mlxgo/mlxgo/mlxgo/nn"
)

// Groups. A step's batch can be cut into groups of rows, each with its own forward and
// backward pass: the groups do not depend on each other until their gradients are
// added, so the CPU backend runs them side by side (mx.SetStreams), one group's
// products using the cores while another's elementwise kernels wait on memory, and
// fewer cores wait at the end of each kernel. The loss is the same mean over the
// batch's target tokens; only the order of the float32 sums differs.

// GroupedLoss returns Loss computed over groups of the batch's rows (as equal as the
// rows allow): the groups' summed token losses over the batch's target count. groups
// <= 1, or a batch of one row, gives Loss itself.
func GroupedLoss(groups int) func(*lm.Model, data.Batch) *mx.Array {
	if groups <= 1 {
		return Loss
	}
	return func(m *lm.Model, b data.Batch) *mx.Array {
		rows := b.Inputs.Shape()[0]
		g := min(groups, rows)
		if g <= 1 {
			return Loss(m, b)
		}
		var sum *mx.Array
		for i := range g {
			lo, hi := i*rows/g, (i+1)*rows/g
			part := func(a *mx.Array) *mx.Array { return mx.SliceAxis(a, 0, lo, hi) }
			logits := m.Forward(part(b.Inputs), nil)
			l := nn.CrossEntropy(logits, part(b.Targets), part(b.Mask), nn.ReduceSum)
			if sum == nil {
				sum = l
			} else {
				sum = mx.Add(sum, l)
			}
		}
		return mx.Divide(sum, mx.Sum(mx.AsType(b.Mask, sum.Dtype()), nil, false))
	}
}

// StepGroups returns the groups a step of batch rows is cut into for Options.Groups
// = groups: 0 chooses (AutoGroups), 1 is off, and a count above the rows is cut to the
// rows.
func StepGroups(groups, rows int) int {
	if groups == 0 {
		return AutoGroups(rows)
	}
	return max(1, min(groups, rows))
}

// AutoGroups is the default number of groups for a batch of rows: where the backend
// runs streams (mx.HasStreams) and GOMAXPROCS is 2 or more, a quarter of GOMAXPROCS and
// at least 2, at most rows; else 1. Measured with `mlxgo bench` (smollm135 shape, 4×128
// on 2 cores, 16×128 on 16): on this project's 2-core AMD EPYC, 2 groups ran 8 of 8
// alternating pairs faster (median 543 tokens/s against 476, 1.14×), 4 groups at 477–491;
// on a 16-core Xeon, 4 groups ran at 2042 and 2072 tokens/s against 1666 and 1759
// without (2 groups 1849 and 1801, 8 groups 1881), and 2 groups at 4×128 on 2 cores at
// 359 and 318 against 299 and 284.
func AutoGroups(rows int) int {
	p := runtime.GOMAXPROCS(0)
	if p < 2 || !mx.HasStreams() {
		return 1
	}
	return max(1, min(max(2, p/4), rows))
}
