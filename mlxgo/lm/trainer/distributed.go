package trainer

import (
	"fmt"
	"slices"

	"github.com/mlxgo/mlxgo/mlxgo/distributed"
	"github.com/mlxgo/mlxgo/mlxgo/lm"
	"github.com/mlxgo/mlxgo/mlxgo/lm/data"
	mx "github.com/mlxgo/mlxgo/mlxgo/mx"
	"github.com/mlxgo/mlxgo/mlxgo/nn"
	"github.com/mlxgo/mlxgo/mlxgo/tree"
)

// Data parallelism, as mlx-lm does it over mx.distributed: every rank holds the whole
// model and dataset and walks the same global batches; rank r of N trains on its slice of
// each global batch; one AllSum per step adds up the loss and the gradients. The loss of a
// slice is its summed token loss divided by the global batch's token count (which every
// rank counts from the dataset), so the sum over ranks is exactly the single-process
// loss of the global batch, and so are the gradients.

// shard returns this rank's contiguous slice of a global batch's example indices.
func shard(idx []int, rank, size int) []int {
	n := len(idx)
	return idx[rank*n/size : (rank+1)*n/size]
}

// targetTokens counts the targets that carry loss in the batch idx (data.Make's Tokens)
// without building it.
func targetTokens(ds *data.Dataset, idx []int) int {
	n := 0
	for _, i := range idx {
		ex := ds.Examples[i]
		for t := 1; t < len(ex.Tokens); t++ {
			if ex.Loss[t] {
				n++
			}
		}
	}
	return n
}

// makeShard builds this rank's slice of the global batch idx, padded to the global batch's
// length so that every rank computes on the shapes a single process would.
func makeShard(ds *data.Dataset, idx []int, rank, size, padID int) data.Batch {
	longest := 0
	for _, i := range idx {
		longest = max(longest, len(ds.Examples[i].Tokens)-1)
	}
	L := (longest + 7) / 8 * 8 // data.Make's rounding
	b := data.Make(ds, shard(idx, rank, size), padID)
	if l := b.Inputs.Dim(1); l < L {
		w := [][2]int{{0, 0}, {0, L - l}}
		b.Inputs = mx.Pad(b.Inputs, w, float64(padID))
		b.Targets = mx.Pad(b.Targets, w, float64(padID))
		b.Mask = mx.Pad(b.Mask, w, 0)
	}
	return b
}

// shardLoss is a rank's part of the global batch's mean token loss: the summed masked
// cross-entropy of its slice over the global batch's target count (*total, set before each
// call).
func shardLoss(total *int) func(*lm.Model, data.Batch) *mx.Array {
	return func(m *lm.Model, b data.Batch) *mx.Array {
		logits := m.Forward(b.Inputs, nil)
		return mx.Divide(nn.CrossEntropy(logits, b.Targets, b.Mask, nn.ReduceSum), float64(max(*total, 1)))
	}
}

// allSumStep adds up, over all ranks and in one AllSum, the loss, the gradients and the
// ranks' votes to stop (a rank whose context was cancelled). Every rank gets the same
// sums, so every rank takes the same decisions afterwards.
func allSumStep(loss *mx.Array, grads map[string]any, stop bool) (*mx.Array, map[string]any, bool) {
	flat := tree.FlattenMap(grads)
	keys := slices.Sorted(func(yield func(string) bool) {
		for k := range flat {
			if !yield(k) {
				return
			}
		}
	})
	vote := 0.0
	if stop {
		vote = 1
	}
	parts := []*mx.Array{mx.Reshape(mx.AsType(loss, mx.Float32), 1), mx.FromSlice([]float32{float32(vote)})}
	for _, k := range keys {
		parts = append(parts, mx.Reshape(mx.AsType(flat[k], mx.Float32), -1))
	}
	// One Eval runs the step's forward and backward passes, then the AllSum.
	sum := distributed.AllSum(mx.Concatenate(parts, 0))
	mx.Eval(sum)
	off := map[string]int{}
	at := 2
	for _, k := range keys {
		off[k] = at
		at += flat[k].Size()
	}
	out := tree.MapWithPath(grads, func(k string, g *mx.Array) *mx.Array {
		s := mx.SliceAxis(sum, 0, off[k], off[k]+g.Size())
		return mx.AsType(mx.Reshape(s, g.Shape()...), g.Dtype())
	}).(map[string]any)
	total := mx.AsType(mx.Reshape(mx.SliceAxis(sum, 0, 0, 1)), loss.Dtype())
	return total, out, mx.SliceAxis(sum, 0, 1, 2).Item() > 0
}

// checkShards says whether the global batch splits evenly over the ranks.
func checkShards(batchSize, size int) error {
	if batchSize%size != 0 {
		return fmt.Errorf("trainer: the batch size %d (the global batch) does not split evenly over %d ranks", batchSize, size)
	}
	return nil
}
