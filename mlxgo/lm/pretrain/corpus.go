package pretrain

import (
	"fmt"
	"strings"
)

// EndOfText separates documents in the corpus; it is the tokenizer's <|endoftext|>.
const EndOfText = "<|endoftext|>"

// Corpus returns deterministic pretraining documents about the tiny world, about
// size bytes of text in all: tiny stories, children asking a grown-up about animals
// and getting one-sentence answers, facts about animals, colours of things, counting
// and sums, and ChatML conversations in which a user asks for a story (so the model
// has seen the chat format the fine-tuning walkthrough may use). No document uses the
// "Q: … A:" layout of the fine-tuning dataset. The same seed and size give the same
// documents.
func Corpus(seed uint64, size int) []string {
	r := newRNG(seed)
	var docs []string
	total := 0
	for total < size {
		var d string
		switch k := r.intn(100); {
		case k < 24:
			d = animalStory(r, pick(r, Animals))
		case k < 38:
			d = askingStory(r)
		case k < 44:
			d = farmStory(r)
		case k < 68:
			d = animalFacts(r)
		case k < 76:
			d = colourFacts(r)
		case k < 88:
			d = numberDoc(r)
		default:
			d = chatStory(r)
		}
		docs = append(docs, d)
		total += len(d) + len(EndOfText)
	}
	return docs
}

// CorpusText joins documents with <|endoftext|>, the form written to corpus files.
func CorpusText(docs []string) string { return strings.Join(docs, EndOfText) + EndOfText }

// animalStory tells a short story about one named animal who meets another.
func animalStory(r *rng, a Animal) string {
	name := pick(r, names)
	he, his := "he", "his"
	if girls[name] {
		he, his = "she", "her"
	}
	var b strings.Builder
	s := func(parts ...string) {
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(strings.Join(parts, ""))
	}
	switch r.intn(3) {
	case 0:
		size := pick(r, sizes)
		s("Once upon a time, there was ", article(size), " ", size, " ", a.Colour, " ", a.Name, " named ", name, ".")
	case 1:
		s(name, " was ", article(a.Colour), " ", a.Colour, " ", a.Name, ".")
	default:
		s("There was once ", article(a.Name), " ", a.Name, " called ", name, ". ", name, " was ", a.Colour, ".")
	}
	if r.chance(0.5) {
		s(pick(r, weather))
	}
	s(capitalize(name), " lived ", a.Home, ".")
	if r.chance(0.6) {
		s(capitalize(name), " liked to eat ", a.Food, ".")
	}
	other := pick(r, Animals)
	for other.Name == a.Name {
		other = pick(r, Animals)
	}
	switch r.intn(4) {
	case 0:
		s("One day, ", name, " went for a walk and met ", article(other.Colour), " ", other.Colour, " ", other.Name, ".")
		s("\"", capitalize(other.Sound), "!\" said the ", other.Name, ".")
		s("\"", capitalize(a.Sound), "!\" said ", name, ".")
		s("They became good friends and played all day.")
	case 1:
		toy := pick(r, toys)
		c := pick(r, colours)
		s("One day, ", name, " lost ", his, " ", c, " ", toy, ".")
		s(capitalize(he), " was sad. ", capitalize(he), " looked everywhere.")
		s("Then ", article(other.Colour), " ", other.Colour, " ", other.Name, " came by and said, \"", capitalize(other.Sound), "! I can help you.\"")
		s("The ", other.Name, " found the ", c, " ", toy, " ", other.Home, ".")
		s(name, " was happy again. \"", capitalize(a.Sound), "!\" said ", name, ". \"Thank you!\"")
	case 2:
		s("One morning, ", name, " was very hungry.")
		s(capitalize(he), " looked for ", a.Food, ".")
		n := 2 + r.intn(5)
		s(capitalize(he), " found ", Numbers[n], " bits of ", a.Food, " and ate them all.")
		s("Then ", he, " felt ", pick(r, []string{"happy", "full", "sleepy", "glad"}), ".")
		if r.chance(0.5) {
			s("The ", other.Name, " saw ", name, " and said, \"", capitalize(other.Sound), "!\"")
		}
	default:
		n := 2 + r.intn(4)
		s("One day, ", name, " saw ", Numbers[n], " ", other.Plural, ".")
		s("The ", other.Plural, " were ", other.Colour, ".")
		s("They all said, \"", capitalize(other.Sound), "! ", capitalize(other.Sound), "!\"")
		s(name, " counted them: ", countTo(1, n), ".")
		s("There were ", Numbers[n], " ", other.Plural, ". ", name, " said, \"", capitalize(a.Sound), "!\"")
	}
	if r.chance(0.6) {
		s(pick(r, []string{"The end.", "And they lived happily ever after.", "Then " + name + " went home to sleep.", name + " had a good day."}))
	}
	return b.String()
}

// farmStory is a child visiting animals and saying what each one does.
func farmStory(r *rng) string {
	name := pick(r, names)
	he := "he"
	if girls[name] {
		he = "she"
	}
	place := pick(r, []string{"the farm", "the zoo", "the park", "the woods"})
	var lines []string
	lines = append(lines, fmt.Sprintf("%s went to %s with %s %s.", name, place, possessive(name), pick(r, []string{"mum", "dad", "friend", "dog", "grandma"})))
	k := 2 + r.intn(3)
	seen := map[string]bool{}
	for i := 0; i < k; i++ {
		a := pick(r, Animals)
		if seen[a.Name] {
			continue
		}
		seen[a.Name] = true
		switch r.intn(3) {
		case 0:
			lines = append(lines, fmt.Sprintf("%s saw %s %s %s. The %s said, \"%s!\"", capitalize(he), article(a.Colour), a.Colour, a.Name, a.Name, capitalize(a.Sound)))
		case 1:
			lines = append(lines, fmt.Sprintf("Next, %s saw a %s. The %s was eating %s.", he, a.Name, a.Name, a.Food))
		default:
			lines = append(lines, fmt.Sprintf("There was %s %s. It lives %s and it has %s.", article(a.Name), a.Name, a.Home, a.LegsPhrase()))
		}
	}
	lines = append(lines, fmt.Sprintf("%s was %s. It was a good day.", name, pick(r, []string{"happy", "tired", "glad"})))
	return strings.Join(lines, " ")
}

// askingStory is a child asking a grown-up about the world and getting the answer in one
// sentence, e.g. "What does the cow say?" asked Mia. Dad said, "The cow says moo."
func askingStory(r *rng) string {
	name := pick(r, names)
	grown := pick(r, []string{"Mum", "Dad", "Grandma", "Grandpa", "the teacher"})
	parts := []string{fmt.Sprintf("%s went to %s with %s.", name, pick(r, []string{"the farm", "the zoo", "the park", "school"}), strings.TrimPrefix(strings.ToLower(grown[:1])+grown[1:], "the "))}
	if grown == "the teacher" {
		parts[0] = fmt.Sprintf("%s was at school.", name)
	}
	qs := questions()
	shuffle(r, qs)
	for _, q := range qs[:2+r.intn(3)] {
		parts = append(parts, fmt.Sprintf("\"%s\" asked %s. %s said, \"%s\"", pick(r, q.prompts), name, capitalize(grown), q.answer))
	}
	parts = append(parts, pick(r, []string{name + " said, \"Thank you!\"", name + " was happy.", "Then they went home."}))
	return strings.Join(parts, " ")
}

// animalFacts lists facts about one to three animals, sometimes with "It".
func animalFacts(r *rng) string {
	var parts []string
	n := 1 + r.intn(3)
	for i := 0; i < n; i++ {
		a := pick(r, Animals)
		facts := a.Facts()
		shuffle(r, facts)
		facts = facts[:2+r.intn(4)]
		if r.chance(0.6) {
			parts = append(parts, introduce(r, a.Name))
		}
		for j, f := range facts {
			if j > 0 && r.chance(0.25) {
				f = "It" + strings.TrimPrefix(f, "The "+a.Name)
			}
			parts = append(parts, f)
		}
	}
	return strings.Join(parts, " ")
}

// colourFacts says what colour things and animals are.
func colourFacts(r *rng) string {
	var parts []string
	n := 3 + r.intn(5)
	for i := 0; i < n; i++ {
		switch r.intn(4) {
		case 0:
			a := pick(r, Animals)
			parts = append(parts, fmt.Sprintf("The %s is %s.", a.Name, a.Colour))
		case 1:
			t := pick(r, Things)
			parts = append(parts, fmt.Sprintf("I see %s %s %s.", article(t.Colour), t.Colour, t.Name))
		case 2:
			t := pick(r, Things)
			parts = append(parts, introduce(r, t.Name), fmt.Sprintf("The %s is %s.", t.Name, t.Colour))
		default:
			t := pick(r, Things)
			parts = append(parts, fmt.Sprintf("The %s is %s.", t.Name, t.Colour))
		}
	}
	return strings.Join(parts, " ")
}

// numberDoc counts, names successors, or does small sums with correct answers.
func numberDoc(r *rng) string {
	switch r.intn(6) {
	case 4, 5:
		a := 1 + r.intn(19)
		return fmt.Sprintf("Look at the number %s. After %s comes %s. Before %s comes %s.", Numbers[a], Numbers[a], Numbers[a+1], Numbers[a], Numbers[a-1])
	case 0:
		a := 1 + r.intn(8)
		b := a + 3 + r.intn(20-a-2)
		if b > 20 {
			b = 20
		}
		return fmt.Sprintf("Let us count. %s.", capitalize(countTo(a, b)))
	case 1:
		var parts []string
		for i, a := 0, 1+r.intn(15); i < 3+r.intn(3) && a < 20; i, a = i+1, a+1 {
			if r.chance(0.5) {
				parts = append(parts, fmt.Sprintf("After %s comes %s.", Numbers[a], Numbers[a+1]))
			} else {
				parts = append(parts, fmt.Sprintf("Before %s comes %s.", Numbers[a+1], Numbers[a]))
			}
		}
		return strings.Join(parts, " ")
	case 2:
		name := pick(r, names)
		toy := pick(r, toys)
		c := pick(r, colours)
		a := 1 + r.intn(6)
		b := 1 + r.intn(4)
		if r.chance(0.5) {
			return fmt.Sprintf("%s had %s %s %s. %s got %s more. Now %s has %s %s.",
				name, Numbers[a], c, plural(a, toy), capitalize(pronoun(name)), Numbers[b], name, Numbers[a+b], plural(a+b, toy))
		}
		a += b
		return fmt.Sprintf("%s had %s %s %s. %s gave %s away. Now %s has %s %s.",
			name, Numbers[a], c, plural(a, toy), capitalize(pronoun(name)), Numbers[b], name, Numbers[a-b], plural(a-b, toy))
	default:
		var parts []string
		for i := 0; i < 2+r.intn(3); i++ {
			a, b := 1+r.intn(5), 1+r.intn(5)
			parts = append(parts, fmt.Sprintf("%s and %s make %s.", capitalize(Numbers[a]), Numbers[b], Numbers[a+b]))
		}
		return strings.Join(parts, " ")
	}
}

// chatStory is a ChatML conversation: the user asks for a story, the assistant tells one.
func chatStory(r *rng) string {
	a := pick(r, Animals)
	ask := pick(r, []string{
		"Tell me a story about " + article(a.Name) + " " + a.Name + ".",
		"Can you tell me a story about " + article(a.Name) + " " + a.Name + "?",
		"Please write a short story about " + article(a.Colour) + " " + a.Colour + " " + a.Name + ".",
		"I want a story about " + a.Plural + ".",
	})
	return "<|im_start|>user\n" + ask + "<|im_end|>\n<|im_start|>assistant\n" + animalStory(r, a) + "<|im_end|>\n"
}

// introduce names what the next sentences are about: "Look at the fox." and the like.
func introduce(r *rng, name string) string {
	return fmt.Sprintf(pick(r, intros), name)
}

var intros = []string{"This is the %s.", "Look at the %s.", "Let me tell you about the %s.", "Here is the %s.", "Do you know the %s?"}

func possessive(name string) string {
	if girls[name] {
		return "her"
	}
	return "his"
}

func pronoun(name string) string {
	if girls[name] {
		return "she"
	}
	return "he"
}

// countTo returns "one, two, three" from a to b.
func countTo(a, b int) string {
	var w []string
	for i := a; i <= b; i++ {
		w = append(w, Numbers[i])
	}
	return strings.Join(w, ", ")
}
