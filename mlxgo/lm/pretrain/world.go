package pretrain

import "strings"

// Animal is one creature of the corpus's tiny world. Every fact about it is fixed, so
// the corpus never contradicts itself and a model trained on it can learn the facts.
type Animal struct {
	Name   string // singular, e.g. "fox"
	Plural string // e.g. "foxes"
	Colour string // e.g. "red"
	Sound  string // what it says, e.g. "yip"
	Home   string // where it lives, as a phrase after "lives": "in a den"
	Legs   int    // 0, 2, 4 or 6
	Food   string // what it eats, e.g. "berries"
}

// Thing is an object with a fixed colour ("the sky is blue").
type Thing struct {
	Name   string
	Colour string
}

// Animals is the world's cast. The facts are fixed; corpus and dataset both use them.
var Animals = []Animal{
	{"cat", "cats", "grey", "meow", "in the house", 4, "fish"},
	{"dog", "dogs", "brown", "woof", "in the yard", 4, "bones"},
	{"cow", "cows", "white", "moo", "in the barn", 4, "grass"},
	{"pig", "pigs", "pink", "oink", "in the mud", 4, "apples"},
	{"duck", "ducks", "yellow", "quack", "on the lake", 2, "bread"},
	{"frog", "frogs", "green", "ribbit", "in the pond", 4, "flies"},
	{"owl", "owls", "brown", "hoot", "in a tree", 2, "mice"},
	{"bee", "bees", "yellow", "buzz", "in a hive", 6, "nectar"},
	{"hen", "hens", "red", "cluck", "in the coop", 2, "seeds"},
	{"horse", "horses", "black", "neigh", "in the stable", 4, "hay"},
	{"sheep", "sheep", "white", "baa", "in the field", 4, "grass"},
	{"goat", "goats", "grey", "maa", "on the hill", 4, "leaves"},
	{"mouse", "mice", "grey", "squeak", "in a hole", 4, "cheese"},
	{"tiger", "tigers", "orange", "roar", "in the jungle", 4, "meat"},
	{"fox", "foxes", "red", "yip", "in a den", 4, "berries"},
	{"bear", "bears", "brown", "growl", "in a cave", 4, "honey"},
	{"wolf", "wolves", "grey", "howl", "in the woods", 4, "meat"},
	{"bird", "birds", "blue", "tweet", "in a nest", 2, "worms"},
	{"fish", "fish", "orange", "blub", "in the sea", 0, "weeds"},
	{"snake", "snakes", "green", "hiss", "in the grass", 0, "eggs"},
	{"crow", "crows", "black", "caw", "on the roof", 2, "corn"},
}

// Things are the world's coloured objects.
var Things = []Thing{
	{"sky", "blue"}, {"sun", "yellow"}, {"grass", "green"}, {"snow", "white"},
	{"apple", "red"}, {"banana", "yellow"}, {"carrot", "orange"}, {"leaf", "green"},
	{"cloud", "white"}, {"sea", "blue"}, {"rose", "red"}, {"plum", "purple"},
	{"coal", "black"}, {"milk", "white"}, {"grape", "purple"}, {"lemon", "yellow"},
	{"tomato", "red"}, {"pumpkin", "orange"}, {"pea", "green"}, {"night", "black"},
	{"chalk", "white"}, {"cherry", "red"}, {"corn", "yellow"}, {"ink", "blue"},
}

// Numbers are the number words the world counts with, Numbers[i] naming i.
var Numbers = []string{
	"zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
	"eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen",
	"nineteen", "twenty",
}

var (
	names   = []string{"Tom", "Ann", "Sam", "Mia", "Ben", "Lily", "Max", "Zoe", "Tim", "Kim", "Leo", "Amy", "Dan", "Eve", "Jack", "Rosa", "Finn", "Nina", "Pip", "Sue"}
	girls   = map[string]bool{"Ann": true, "Mia": true, "Lily": true, "Zoe": true, "Kim": true, "Amy": true, "Eve": true, "Rosa": true, "Nina": true, "Sue": true}
	sizes   = []string{"little", "small", "big", "young", "old", "tiny"}
	toys    = []string{"ball", "kite", "hat", "box", "cup", "boat", "drum", "block"}
	colours = []string{"red", "orange", "yellow", "green", "blue", "purple", "pink", "brown", "black", "white", "grey"}
	weather = []string{"The sun was warm.", "It was a rainy day.", "The wind was cold.", "It was a sunny morning.", "The sky was grey and it began to rain.", "It was a quiet night."}
)

// LegsPhrase returns "four legs", "no legs" and the like.
func (a Animal) LegsPhrase() string {
	if a.Legs == 0 {
		return "no legs"
	}
	return Numbers[a.Legs] + " legs"
}

// Facts returns the animal's five canonical sentences ("The fox is red." ...).
func (a Animal) Facts() []string {
	return []string{
		"The " + a.Name + " is " + a.Colour + ".",
		"The " + a.Name + " says " + a.Sound + ".",
		"The " + a.Name + " lives " + a.Home + ".",
		"The " + a.Name + " has " + a.LegsPhrase() + ".",
		"The " + a.Name + " eats " + a.Food + ".",
	}
}

// article returns "a" or "an" for the word that follows it.
func article(word string) string {
	if word != "" && strings.ContainsRune("aeiou", rune(word[0])) {
		return "an"
	}
	return "a"
}

// capitalize upper-cases the first letter of s.
func capitalize(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// plural returns the plural of a toy or thing ("box" → "boxes").
func plural(n int, word string) string {
	if n == 1 {
		return word
	}
	if strings.HasSuffix(word, "x") || strings.HasSuffix(word, "sh") || strings.HasSuffix(word, "ch") {
		return word + "es"
	}
	return word + "s"
}

// rng is a small deterministic generator (SplitMix64) whose output is fixed by its
// seed on every platform and Go release.
type rng struct{ s uint64 }

func newRNG(seed uint64) *rng { return &rng{s: seed ^ 0x9e3779b97f4a7c15} }

func (r *rng) next() uint64 {
	r.s += 0x9e3779b97f4a7c15
	z := r.s
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// intn returns a number in [0, n).
func (r *rng) intn(n int) int { return int(r.next() % uint64(n)) }

// chance returns true with probability p.
func (r *rng) chance(p float64) bool { return float64(r.next()>>11)/(1<<53) < p }

func pick[T any](r *rng, xs []T) T { return xs[r.intn(len(xs))] }

// shuffle permutes xs in place (Fisher–Yates).
func shuffle[T any](r *rng, xs []T) {
	for i := len(xs) - 1; i > 0; i-- {
		j := r.intn(i + 1)
		xs[i], xs[j] = xs[j], xs[i]
	}
}
