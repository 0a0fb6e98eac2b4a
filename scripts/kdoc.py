#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""kdoc.py - genpool's public headers: their declarations and kernel-doc.

  kdoc.py functions HEADER...   print every function the headers declare
  kdoc.py check HEADER...       fail unless every declared function has a
                                kernel-doc block describing each parameter
  kdoc.py man --outdir DIR [--version V] HEADER...
                                write DIR/man3/NAME.3, one page per
                                documented function, type and macro

A kernel-doc block is a comment opened with two stars:

  /**
   * name - one-line summary (may wrap onto following lines)
   * @param: what it is (continuation lines are indented)
   *
   * Description paragraphs.  A paragraph or sentence that starts with
   * "Return:" / "Returns" is the RETURN VALUE, one that starts with
   * "Context:" is the CONTEXT.
   */

It documents the declarations that follow it up to the next blank line or
comment; functions declared together share one page (the others are .so
links to it).  Only the standard library is used (python3, no packages).
"""
import argparse
import os
import re
import sys
import time

IDENT = r'[A-Za-z_]\w*'


class Decl:
    """One top-level declaration: kind is function, struct, enum, union,
    typedef or macro."""

    def __init__(self, kind, name, text):
        self.kind, self.name, self.text = kind, name, text


class Doc:
    """One kernel-doc block and the declarations it documents."""

    def __init__(self, header, summary, params, body):
        self.header = header
        self.summary = summary
        self.params = params      # [(names, text lines)]
        self.body = body          # [lines], '' separates paragraphs
        self.decls = []
        self.code = ''           # the source it documents, comments kept


def strip_comments(code):
    code = re.sub(r'/\*.*?\*/', ' ', code, flags=re.S)
    return re.sub(r'//[^\n]*', '', code)


def drop_cplusplus(text):
    """Remove the #ifdef __cplusplus ... #endif guards (extern "C")."""
    return re.sub(r'#ifdef\s+__cplusplus\b.*?#endif', '', text, flags=re.S)


def classify(stmt):
    """A Decl for one statement of top-level code, or None."""
    s = ' '.join(stmt.split())
    m = re.match(r'#\s*define\s+(' + IDENT + ')', s)
    if m:
        return Decl('macro', m.group(1), stmt.strip())
    if s.startswith('#') or not s:
        return None
    if s.startswith('typedef'):
        m = re.search(r'\(\s*\*\s*(' + IDENT + r')\s*\)', s)
        name = m.group(1) if m else re.findall(IDENT, s)[-1]
        return Decl('typedef', name, stmt.strip())
    m = re.match(r'(struct|enum|union)\s+(' + IDENT + r')\s*\{', s)
    if m:
        return Decl(m.group(1), m.group(2), stmt.strip())
    if '{' in s or '(' not in s:
        return None     # forward declarations, inline definitions
    m = re.match(r'([^(]*?)\b(' + IDENT + r')\s*\(', s)
    if not m or s.startswith('static'):
        return None
    return Decl('function', m.group(2), s)


def statements(code):
    """Split comment-free top-level code into statements: #define lines,
    and C text ending in a ';' (or a '}' closing a function body) at brace
    depth 0."""
    out, cur, depth = [], '', 0
    lines = code.split('\n')
    i = 0
    while i < len(lines):
        line = lines[i]
        if depth == 0 and not cur.strip() and line.lstrip().startswith('#'):
            while line.endswith('\\') and i + 1 < len(lines):
                i += 1
                line = line[:-1] + '\n' + lines[i]
            out.append(line)
            i += 1
            continue
        for ch in line:
            cur += ch
            if ch == '{':
                depth += 1
            elif ch == '}':
                depth -= 1
                if depth == 0 and re.search(r'\)\s*(\w+\s*)*\{', cur):
                    out.append(cur)     # a function body (static inline)
                    cur = ''
            elif ch == ';' and depth == 0:
                out.append(cur)
                cur = ''
        cur += '\n'
        i += 1
    return out


def declarations(code):
    return [d for d in map(classify, statements(strip_comments(code))) if d]


def parse_block(header, raw):
    """A Doc from the text between '/**' and '*/'."""
    lines = []
    for line in raw.split('\n'):
        line = re.sub(r'^\s*\* ?', '', line) if lines else line.strip()
        lines.append(line.rstrip())
    while lines and not lines[-1].strip():
        lines.pop()
    while lines and not lines[0].strip():
        lines.pop(0)
    summary = []
    i = 0
    while i < len(lines) and lines[i].strip() and \
            not re.match(r'\s*(@|Returns?\b|Context:)', lines[i]):
        summary.append(lines[i].strip())
        i += 1
    params = []
    while i < len(lines):
        m = re.match(r'((?:@\w+|@\.\.\.)(?:\s*,\s*@\w+)*)\s*:\s*(.*)',
                     lines[i])
        if m:
            names = re.findall(r'@(\w+|\.\.\.)', m.group(1))
            params.append((names, [m.group(2).strip()]))
        elif params and lines[i][:1].isspace() and lines[i].strip():
            params[-1][1].append(lines[i].strip())
        elif lines[i].strip():
            break
        i += 1
    body = [line.strip() for line in lines[i:]]
    return Doc(header, ' '.join(summary), params, body)


def parse_header(path):
    """(docs, every declaration) of one header."""
    text = drop_cplusplus(open(path, encoding='utf-8').read())
    docs = []
    parts = re.split(r'(/\*\*(?!/).*?\*/)', text, flags=re.S)
    for k in range(1, len(parts), 2):
        doc = parse_block(path, parts[k][3:-2])
        # The block documents the code up to a blank line or a comment
        # on a line of its own.
        after = re.split(r'\n\s*\n|\n\s*/\*', parts[k + 1], maxsplit=1)[0]
        doc.decls = declarations(after)
        doc.code = after.strip()
        docs.append(doc)
    return docs, declarations(text)


def summary_name(doc):
    """The name a block's summary line gives ('struct x - ...' gives x)."""
    m = re.match(r'(?:struct\s+|enum\s+|union\s+)?(' + IDENT + r')(?:\(\))?'
                 r'\s*(?:,|-)', doc.summary)
    return m.group(1) if m else None


def summary_text(doc):
    """The summary after 'name - ', without a final full stop."""
    text = re.split(r'\s-\s', doc.summary, maxsplit=1)[-1].strip()
    return text[:-1] if text.endswith('.') else text


# ------------------------------------------------------------------ check

def split_args(proto):
    """The parameters of a prototype, split at its top-level commas."""
    inner = proto[proto.index('(') + 1:proto.rindex(')')]
    args, depth, arg = [], 0, ''
    for ch in inner + ',':
        if ch == ',' and depth == 0:
            args.append(arg.strip())
            arg = ''
            continue
        depth += ch == '('
        depth -= ch == ')'
        arg += ch
    return args


def arg_name(arg):
    """A parameter's name (a function pointer's too), '...', or None."""
    m = re.search(r'\(\s*\*\s*(' + IDENT + r')\s*\)', arg)
    if m:
        return m.group(1)
    if arg == '...':
        return arg
    return re.findall(IDENT, arg)[-1] if arg and arg != 'void' else None


def param_names(proto):
    """Parameter names of a prototype."""
    return [n for n in map(arg_name, split_args(proto)) if n]


def check(headers):
    bad = 0
    for h in headers:
        docs, decls = parse_header(h)
        documented = {}
        for doc in docs:
            for d in doc.decls:
                documented[d.name] = doc
        for d in decls:
            if d.kind != 'function':
                continue
            doc = documented.get(d.name)
            if not doc:
                print(f'{h}: {d.name}(): no kernel-doc block')
                bad = 1
                continue
            lead = doc.decls[0].name == d.name
            if lead and summary_name(doc) != d.name:
                print(f'{h}: {d.name}(): block is named '
                      f'"{summary_name(doc)}"')
                bad = 1
            described = {n for names, _ in doc.params for n in names}
            if lead:
                for p in param_names(d.text):
                    if p not in described:
                        print(f'{h}: {d.name}(): @{p} is not described')
                        bad = 1
                sec = sections(doc.body)
                returns_void = re.match(r'(extern\s+)?void\s+\w+\s*\(',
                                        d.text)
                if not sec['ret'] and not returns_void:
                    print(f'{h}: {d.name}(): no Return: section')
                    bad = 1
                if not sec['ctx']:
                    print(f'{h}: {d.name}(): no Context: section')
                    bad = 1
    return bad


# -------------------------------------------------------------------- man

def roff_escape(s):
    s = s.replace('\\', '\\e')
    return re.sub(r"^([.'])", r'\\&\1', s)


def roff_text(line, params):
    """One line of comment prose as roff: @p italic, f() and %CONST bold,
    a leading minus as a minus sign."""
    s = roff_escape(line)
    s = re.sub(r'(^|[\s(])-(?=[\dA-Z])', r'\1\\-', s)
    s = re.sub(r'@(\w+)', r'\\fI\1\\fP', s)
    s = re.sub(r'\b(' + IDENT + r')\(\)', r'\\fB\1\\fP()', s)
    return re.sub(r'%(' + IDENT + ')', r'\\fB\1\\fP', s)


SECTION_START = re.compile(r'(?:(?<=[.;)]\s)|(?<=[.;)]\s\s)|^)'
                           r'(Returns?\b:?|Context:)')


def sections(body):
    """Split body lines into description, return value and context."""
    out = {'desc': [], 'ret': [], 'ctx': []}
    where = 'desc'
    for line in body:
        while True:
            m = SECTION_START.search(line)
            if not m:
                break
            head, line = line[:m.start()].rstrip(), line[m.start():]
            if head:
                out[where].append(head)
            where = 'ctx' if line.startswith('Context') else 'ret'
            if where == 'ctx' or line.startswith('Return:'):
                line = line.split(':', 1)[1].lstrip()
            if SECTION_START.search(line, 1) is None:
                break
            nxt = SECTION_START.search(line, 1)
            out[where].append(line[:nxt.start()].rstrip())
            line = line[nxt.start():]
        if line or (out[where] and out[where][-1]):
            out[where].append(line)
    for k in out:
        while out[k] and not out[k][-1]:
            out[k].pop()
        while out[k] and not out[k][0]:
            out[k].pop(0)
    return out


def emit_prose(lines, params, out):
    """Paragraphs of prose; a section starts with a capital."""
    for k, line in enumerate(lines):
        if k == 0 and re.match(r'[a-z]+\b(?![(_])', line):
            line = line[:1].upper() + line[1:]    # not an identifier
        out.append('.PP' if not line else roff_text(line, params))


def synopsis_function(d):
    """The prototype, one parameter per line when long; names italic."""
    s = d.text.rstrip(';').strip()
    head = s[:s.index('(')]
    tail = s[s.rindex(')') + 1:].strip()
    ret = head[:head.rindex(d.name)].rstrip()
    shown = []
    for a in split_args(s):
        n = arg_name(a)
        a = roff_escape(a)
        if n and n != '...':
            a = re.sub(r'\b' + n + r'\b(?!.*\b' + n + r'\b)',
                       r'\\fI' + n + r'\\fP', a, count=1)
        shown.append(a)
    space = '' if ret.endswith('*') else ' '
    lead = f'{roff_escape(ret)}{space}\\fB{d.name}\\fP('
    end = ')' + (' ' + tail if tail else '') + ';'
    one = lead + ', '.join(shown) + end
    if len(re.sub(r'\\f.', '', one)) <= 72 or len(shown) == 1:
        return [one]
    pad = ' ' * (len(ret) + len(space) + len(d.name) + 1)
    return ([lead + shown[0] + ','] + [pad + a + ',' for a in shown[1:-1]] +
            [pad + shown[-1] + end])


def include_line(header):
    return f'.B #include <genpool/{os.path.basename(header)}>'


def man_page(doc, version, date, pages):
    first = doc.decls[0]
    names = [d.name for d in doc.decls if d.kind == first.kind]
    params = {n for ns, _ in doc.params for n in ns}
    out = [f'.\\" SPDX-License-Identifier: MIT',
           f'.\\" Generated by scripts/kdoc.py from {os.path.basename(doc.header)}'
           f'; do not edit.',
           f'.TH {first.name} 3 {date} "genpool {version}" "genpool Manual"',
           '.nh',
           '.SH NAME',
           f'{", ".join(names)} \\- {roff_text(summary_text(doc), params)}',
           '.SH SYNOPSIS', '.nf', include_line(doc.header), '.PP']
    if first.kind == 'function':
        for d in doc.decls:
            out += synopsis_function(d)
    else:   # types and macros as written, with their members' comments
        out += [roff_escape(x.rstrip().expandtabs(8))
                for x in doc.code.split('\n')]
    out += ['.fi']
    sec = sections(doc.body)
    out.append('.SH DESCRIPTION')
    if doc.params:
        for ns, text in doc.params:
            out += ['.TP', '.I ' + ', '.join(ns)]
            out += [roff_text(t, params) for t in text]
        out.append('.PP')
    emit_prose(sec['desc'] or [summary_text(doc) + '.'], params, out)
    if sec['ret']:
        out.append('.SH RETURN VALUE')
        emit_prose(sec['ret'], params, out)
    if sec['ctx']:
        out.append('.SH CONTEXT')
        emit_prose(sec['ctx'], params, out)
    text = ' '.join([doc.summary] + doc.body + [t for _, ts in doc.params
                                                 for t in ts])
    seen = sorted({m for m in re.findall(r'\b(' + IDENT + r')\(\)', text)
                   if m in pages and m not in names})
    out += ['.SH SEE ALSO']
    out += [f'.BR {m} (3),' for m in seen]
    out += ['.BR genpool (7)']
    return '\n'.join(out) + '\n', names


def write_if_changed(path, text):
    try:
        if open(path, encoding='utf-8').read() == text:
            return
    except OSError:
        pass
    with open(path, 'w', encoding='utf-8') as f:
        f.write(text)


def man(headers, outdir, version):
    stamp = os.environ.get('SOURCE_DATE_EPOCH')
    date = time.strftime('%Y-%m-%d', time.gmtime(int(stamp) if stamp
                                                 else None))
    docs = [doc for h in headers for doc in parse_header(h)[0] if doc.decls]
    pages = {d.name for doc in docs for d in doc.decls}
    mandir = os.path.join(outdir, 'man3')
    os.makedirs(mandir, exist_ok=True)
    written = {}
    for doc in docs:
        text, names = man_page(doc, version, date, pages)
        files = {names[0]: text}
        files.update({n: f'.so man3/{names[0]}.3\n' for n in names[1:]})
        for name, body in files.items():
            if name in written:
                sys.exit(f'kdoc.py: two pages named {name}: '
                         f'{written[name]} and {doc.header}')
            written[name] = doc.header
            write_if_changed(os.path.join(mandir, name + '.3'), body)
    for f in os.listdir(mandir):
        if f.endswith('.3') and f[:-2] not in written:
            os.remove(os.path.join(mandir, f))
    os.utime(mandir)    # the build tool's output is the directory
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('command', choices=['functions', 'check', 'man'])
    ap.add_argument('headers', nargs='+')
    ap.add_argument('--outdir')
    ap.add_argument('--version', default='')
    a = ap.parse_args()
    if a.command == 'functions':
        for h in a.headers:
            for d in parse_header(h)[1]:
                if d.kind == 'function':
                    print(d.name)
        return 0
    if a.command == 'check':
        return check(a.headers)
    if not a.outdir:
        ap.error('man needs --outdir')
    return man(a.headers, a.outdir, a.version)


if __name__ == '__main__':
    sys.exit(main())
