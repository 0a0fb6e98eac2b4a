#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Write the seed corpus of tests/fuzz/fuzz_of.c (device-tree blobs).

Seeds:
  seed-of_sram.dtb, seed-of_other.dtb
      the unit suite's trees (tests/unit/*.dts) compiled by dtc;
Crafted blobs (each once crashed or misbehaved in core/of.c; the unit test
tests/unit/test_of.c loads them by name):
  prop-len-minus1.dtb
      /consumer's "sram" property has length 0xffffffff: libfdt hands back
      the property with len = -1, which a size_t bounds check let through;
  prop-len-loop.dtb
      /consumer's "sram" property has length -12: libfdt's next tag is
      that property again, so a walk over it never ends (found by
      fuzz_of within seconds);
  struct-misaligned.dtb
      a good tree whose structure block starts 2 bytes past a 4-byte
      boundary, so property values are not 4-aligned;
  label-unterminated.dtb
      the "label" of the partition a consumer points at has no NUL and is
      the last thing in the blob (no END tags follow): a string compare on
      it runs past the blob.
Each crafted blob's size is a multiple of 8, so the test can place its
end right before an inaccessible page.

Usage: make-of-corpus.py [DIR]   (default: the corpus-of/ folder next to
it; needs dtc for the seeds)
"""
import os
import struct
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
UNIT = os.path.join(HERE, '..', 'unit')

FDT_MAGIC = 0xd00dfeed
BEGIN_NODE, END_NODE, PROP, END = 1, 2, 3, 9


def pad4(b):
    return b + bytes(-len(b) % 4)


class Strings:
    """The strings block: property names, each stored once."""

    def __init__(self):
        self.blob = b''

    def offset(self, name):
        key = name.encode() + b'\0'
        at = self.blob.find(key)
        if at < 0 or (at > 0 and self.blob[at - 1] != 0):
            at = len(self.blob)
            self.blob += key
        return at


def cells(*values):
    return b''.join(struct.pack('>I', v) for v in values)


def node(name, props=(), children=(), end=True):
    """A node as a token list: props are (name, value[, length field])."""
    toks = [('begin', name)]
    toks += [('prop',) + tuple(p) for p in props]
    for c in children:
        toks += c
    if end:
        toks.append(('end',))
    return toks


def struct_block(toks, strings, fdt_end=True):
    out = b''
    for t in toks:
        if t[0] == 'begin':
            out += struct.pack('>I', BEGIN_NODE) + pad4(t[1].encode() + b'\0')
        elif t[0] == 'end':
            out += struct.pack('>I', END_NODE)
        else:
            name, value = t[1], t[2]
            length = t[3] if len(t) > 3 else len(value)
            out += struct.pack('>III', PROP, length, strings.offset(name))
            out += pad4(value)
    if fdt_end:
        out += struct.pack('>I', END)
    return out


def blob(toks, struct_pad=0, strings_first=False, fdt_end=True):
    """A version-17 blob: header, empty reservation map, then the strings
    and structure blocks (structure first unless @strings_first), with
    @struct_pad bytes before the structure block."""
    strings = Strings()
    st = struct_block(toks, strings, fdt_end)
    rsv = bytes(16)
    off = 40 + len(rsv)
    if strings_first:
        off_strings = off
        off_struct = off + len(strings.blob) + struct_pad
        total = off_struct + len(st)
        body = strings.blob + bytes(struct_pad) + st
    else:
        off_struct = off + struct_pad
        off_strings = off_struct + len(st)
        total = off_strings + len(strings.blob)
        body = bytes(struct_pad) + st + strings.blob
    hdr = struct.pack('>10I', FDT_MAGIC, total, off_struct, off_strings, 40,
                      17, 16, 0, len(strings.blob), len(st))
    return hdr + rsv + body


def with_size_multiple_of_8(make):
    """The first blob make(pad) whose size is a multiple of 8."""
    for pad in range(8):
        b = make(pad)
        if len(b) % 8 == 0:
            return b
    raise SystemExit('no padding makes the blob a multiple of 8')


def prop_len_minus1():
    # No value bytes: with len = -1 libfdt puts the next tag right after
    # the property's header, so the tree stays walkable.
    def make(pad):
        toks = node('', children=[
            node('sram@10000000', [('phandle', cells(1))]),
            node('consumer', [('sram', b'', 0xffffffff),
                              ('x' * (pad + 1), b'')]),
        ])
        return blob(toks)
    return with_size_multiple_of_8(make)


def prop_len_loop():
    toks = node('', children=[
        node('sram@10000000', [('phandle', cells(1))]),
        node('consumer', [('sram', b'', 0xfffffff4)]),
    ])
    return blob(toks)


def struct_misaligned():
    toks = node('', children=[
        node('sram@10000000', [('compatible', b'mmio-sram\0'),
                               ('phandle', cells(1))]),
        node('consumer', [('sram', cells(1))]),
    ])
    return blob(toks, struct_pad=2)


def label_unterminated():
    # The consumer comes first so that every lookup finds what it needs
    # before the blob ends inside the partition node.
    def make(pad):
        toks = node('', end=False, children=[
            node('consumer', [('audio-sram', cells(1))]),
            node('sram@10000000', [('phandle', cells(2))], end=False,
                 children=[node('partition@0',
                                [('phandle', cells(1)),
                                 ('label', b'audio-sram-0')], end=False)]),
        ])
        # Strings first, padded so the blob ends on a multiple of 8.
        strings_pad = 'p' * pad
        toks[1:1] = [('prop', strings_pad, b'')] if pad else []
        return blob(toks, strings_first=True, fdt_end=False)
    return with_size_multiple_of_8(make)


def dtc(name):
    return subprocess.run(['dtc', '-q', '-I', 'dts', '-O', 'dtb',
                           os.path.join(UNIT, name + '.dts')],
                          check=True, capture_output=True).stdout


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, 'corpus-of')
    os.makedirs(out, exist_ok=True)
    files = {
        'seed-of_sram.dtb': dtc('of_sram'),
        'seed-of_other.dtb': dtc('of_other'),
        'prop-len-minus1.dtb': prop_len_minus1(),
        'prop-len-loop.dtb': prop_len_loop(),
        'struct-misaligned.dtb': struct_misaligned(),
        'label-unterminated.dtb': label_unterminated(),
    }
    for name, data in files.items():
        with open(os.path.join(out, name), 'wb') as f:
            f.write(data)
    print(f'{len(files)} blobs in {out}')


if __name__ == '__main__':
    main()
