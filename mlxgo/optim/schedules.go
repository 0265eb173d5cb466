package optim

import "math"

// CosineDecay decays from init to end over steps with a half cosine, then stays at end.
func CosineDecay(init float64, steps int, end float64) Schedule {
	return func(step int) float64 {
		s := math.Min(float64(step), float64(steps))
		return end + (init-end)*0.5*(1+math.Cos(math.Pi*s/float64(steps)))
	}
}

// LinearSchedule goes linearly from init to end over steps, then stays at end.
func LinearSchedule(init, end float64, steps int) Schedule {
	return func(step int) float64 {
		if step >= steps {
			return end
		}
		return init + (end-init)*float64(step)/float64(steps)
	}
}

// StepDecay multiplies init by factor every stepSize steps.
func StepDecay(init, factor float64, stepSize int) Schedule {
	return func(step int) float64 { return init * math.Pow(factor, float64(step/stepSize)) }
}

// ExponentialDecay returns init * decay^step.
func ExponentialDecay(init, decay float64) Schedule {
	return func(step int) float64 { return init * math.Pow(decay, float64(step)) }
}

// JoinSchedules runs schedules[i] from boundaries[i-1] on, each seeing steps counted
// from its own start (e.g. a linear warm-up, then cosine decay).
func JoinSchedules(schedules []Schedule, boundaries []int) Schedule {
	return func(step int) float64 {
		i, start := 0, 0
		for i < len(boundaries) && step >= boundaries[i] {
			start = boundaries[i]
			i++
		}
		return schedules[i](step - start)
	}
}
