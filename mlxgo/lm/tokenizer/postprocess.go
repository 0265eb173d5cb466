package tokenizer

// postProcessor adds special tokens around an encoded sequence.
type postProcessor interface {
	process(ids []int, toks []string, addSpecial bool) ([]int, []string)
}

// templatePiece is one element of a TemplateProcessing template: the
// sequence itself (special == "") or the special token named special.
type templatePiece struct {
	special string
}

type templateSpecial struct {
	ids    []int
	tokens []string
}

type templateProc struct {
	single   []templatePiece
	specials map[string]templateSpecial
}

func (p *templateProc) process(ids []int, toks []string, addSpecial bool) ([]int, []string) {
	if !addSpecial {
		return ids, toks
	}
	var outIDs []int
	var outToks []string
	for _, pc := range p.single {
		if pc.special == "" {
			outIDs = append(outIDs, ids...)
			if toks != nil {
				outToks = append(outToks, toks...)
			}
			continue
		}
		sp := p.specials[pc.special]
		outIDs = append(outIDs, sp.ids...)
		if toks != nil {
			outToks = append(outToks, sp.tokens...)
		}
	}
	return outIDs, outToks
}

// wrapProc is RobertaProcessing and BertProcessing: cls + sequence + sep.
type wrapProc struct {
	cls, sep     string
	clsID, sepID int
}

func (p *wrapProc) process(ids []int, toks []string, addSpecial bool) ([]int, []string) {
	if !addSpecial {
		return ids, toks
	}
	outIDs := make([]int, 0, len(ids)+2)
	outIDs = append(append(append(outIDs, p.clsID), ids...), p.sepID)
	var outToks []string
	if toks != nil {
		outToks = make([]string, 0, len(toks)+2)
		outToks = append(append(append(outToks, p.cls), toks...), p.sep)
	}
	return outIDs, outToks
}

// nopProc is the ByteLevel post-processor, which only trims offsets.
type nopProc struct{}

func (nopProc) process(ids []int, toks []string, _ bool) ([]int, []string) { return ids, toks }

type sequenceProc []postProcessor

func (p sequenceProc) process(ids []int, toks []string, addSpecial bool) ([]int, []string) {
	for _, x := range p {
		ids, toks = x.process(ids, toks, addSpecial)
	}
	return ids, toks
}
