"""Author-year labels in the bibliography (loaded through `sphinx.local_extensions`).

sphinxcontrib-bibtex writes citations in the text in author-year form
(``bibtex_reference_style: author_year``), but labels the entries of the bibliography with
pybtex's formatting style, whose labels are alphabetic codes such as ``[CvMerrienboerG+14]``.
This registers a pybtex style, ``author_year``, that sorts entries as the ``plain`` style does
and labels each one as the text cites it: ``Graves, 2011``, ``Hochreiter & Schmidhuber, 1997``,
``Chung et al., 2014``; two works that would share a label get ``2013a``, ``2013b``.
"""
from collections import Counter

from pybtex.plugin import register_plugin
from pybtex.richtext import Text
from pybtex.style.formatting.plain import Style as PlainStyle
from pybtex.style.labels import BaseLabelStyle


def _last_names(person) -> str:
    return " ".join(Text.from_latex(part).render_as("text")
                    for part in person.prelast_names + person.last_names)


def author_year(entry) -> str:
    people = entry.persons.get("author") or entry.persons.get("editor") or []
    names = [_last_names(p) for p in people]
    if not names:
        who = entry.fields.get("organization") or entry.fields.get("title", entry.key)
    elif len(names) == 1:
        who = names[0]
    elif len(names) == 2:
        who = f"{names[0]} & {names[1]}"
    else:
        who = f"{names[0]} et al."
    return f"{who}, {entry.fields.get('year', 'n.d.')}"


class AuthorYearLabels(BaseLabelStyle):
    def format_labels(self, sorted_entries):
        sorted_entries = list(sorted_entries)
        labels = [author_year(e) for e in sorted_entries]
        count, seen = Counter(labels), Counter()
        for label in labels:
            if count[label] > 1:                       # same authors, same year: 2013a, 2013b
                seen[label] += 1
                label += "abcdefghijklmnopqrstuvwxyz"[seen[label] - 1]
            yield label


class AuthorYearStyle(PlainStyle):
    default_label_style = "author_year"


register_plugin("pybtex.style.labels", "author_year", AuthorYearLabels)
register_plugin("pybtex.style.formatting", "author_year", AuthorYearStyle)


def setup(app):
    return {"parallel_read_safe": True, "parallel_write_safe": True}
