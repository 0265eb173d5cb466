//go:build !linux

package mlx

// physicalMemory is unknown here (0): MLX's Metal allocator reports failures itself.
func physicalMemory() int64 { return 0 }
