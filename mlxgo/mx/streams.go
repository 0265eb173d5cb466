package mx

// streamer is a backend that runs several kernels of a graph at once when asked.
type streamer interface{ SetStreams(int) int }

// SetStreams asks the backend to run up to n kernels of a graph at once, where their
// inputs allow (0: the backend's default), and returns the previous setting. On the CPU
// backend (package cpu, Streams) steps that do not depend on each other then run side
// by side, taken in the tape's order, each still splitting its own work across cores:
// with a batch cut into independent groups (trainer's Groups), the groups' forward and
// backward passes overlap, so that one uses the cores while another waits on memory.
// Results are the same bits as with one stream. Backends without the setting (MLX
// schedules its own graph) ignore it and return 0.
func SetStreams(n int) int {
	if s, ok := current().(streamer); ok {
		return s.SetStreams(n)
	}
	return 0
}

// HasStreams reports whether the current backend runs several kernels of a graph at
// once when asked (SetStreams): the CPU backend does, MLX schedules its own graph.
func HasStreams() bool {
	_, ok := current().(streamer)
	return ok
}
