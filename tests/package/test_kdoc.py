#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""test_kdoc.py KDOC INCLUDE_DIR FIXTURE BAD_FIXTURE HEADER...

scripts/kdoc.py is generic over kernel-doc, so that new layers' headers
get their pages without touching it:
  - every header in INCLUDE_DIR (version.h.in as version.h) is one of the
    HEADERs meson hands to the generator and the checks;
  - on FIXTURE (a header as a new layer might write it: grouped
    functions, a function-pointer parameter, a static inline helper, a
    struct, an enum with commented members, a guarded macro) it lists the
    right functions, passes the check and writes the right pages;
  - on BAD_FIXTURE the check fails and names each fault.
"""
import os
import subprocess
import sys
import tempfile


def run(*args):
    return subprocess.run([sys.executable, KDOC, *args], capture_output=True,
                          text=True)


def expect(cond, what):
    if not cond:
        print('FAIL:', what)
        FAILURES.append(what)


def main():
    global KDOC
    KDOC, incdir, fixture, bad, *headers = sys.argv[1:]
    listed = {os.path.basename(h) for h in headers}
    for f in sorted(os.listdir(incdir)):
        name = f[:-3] if f.endswith('.h.in') else f
        if name.endswith('.h'):
            expect(name in listed, f'{f} is not in gp_public_headers '
                   '(include/genpool/meson.build)')

    r = run('functions', fixture)
    expect(r.stdout.split() == ['fx_cache_create', 'fx_cache_get',
                                'fx_cache_put'],
           f'functions of the fixture: {r.stdout.split()}')
    r = run('check', fixture)
    expect(r.returncode == 0, f'check of the fixture: {r.stdout}')

    with tempfile.TemporaryDirectory() as out:
        r = run('man', '--outdir', out, '--version', '9.9.9', fixture)
        expect(r.returncode == 0, f'man: {r.stderr}')
        man3 = os.path.join(out, 'man3')
        pages = sorted(os.listdir(man3))
        expect(pages == ['FX_NONE.3', 'fx_cache_create.3', 'fx_cache_get.3',
                         'fx_cache_put.3', 'fx_mode.3', 'fx_stats.3'],
               f'pages: {pages}')

        def page(name):
            with open(os.path.join(man3, name + '.3'), encoding='utf-8') as f:
                return f.read()
        expect(page('fx_cache_put') == '.so man3/fx_cache_get.3\n',
               'fx_cache_put is a link to the page it shares')
        get = page('fx_cache_get')
        for want in ('.TH fx_cache_get 3', 'fx_cache_get, fx_cache_put \\- ',
                     '.SH RETURN VALUE', '.SH CONTEXT', 'Lock-free.',
                     'void \\fBfx_cache_put\\fP(struct fx_cache *\\fIcache\\fP,'
                     ' void *\\fIobj\\fP);', '"genpool 9.9.9"'):
            expect(want in get, f'fx_cache_get page lacks {want!r}')
        create = page('fx_cache_create')
        for want in ('void (*\\fIflush\\fP)(void *obj, void *arg),',
                     '.SH RETURN VALUE\nReturns the cache, or NULL',
                     '.SH CONTEXT\nThread-safe.'):
            expect(want in create, f'fx_cache_create page lacks {want!r}')
        expect('/* on a miss */' in page('fx_mode'),
               'the enum page keeps its members\' comments')
        expect('.I hits' in page('fx_stats'), 'struct members are listed')
        expect('#ifndef FX_NONE' in page('FX_NONE'), 'the macro as written')
        expect(not os.path.exists(os.path.join(man3, 'fx_round.3')),
               'no page for a static inline helper')

    r = run('check', bad)
    expect(r.returncode == 1, 'check of the bad fixture must fail')
    for want in ('fx_size(): @cache is not described',
                 'fx_size(): no Return: section',
                 'fx_size(): no Context: section',
                 'fx_named(): block is named "fx_misnamed"',
                 'fx_undocumented(): no kernel-doc block'):
        expect(want in r.stdout, f'check does not say {want!r}')
    print(f'{len(FAILURES)} failures')
    return 1 if FAILURES else 0


FAILURES = []
if __name__ == '__main__':
    sys.exit(main())
