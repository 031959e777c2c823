#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Fails if the Rust declarations of the C helpers disagree with their headers.

rust/glue.h declares the helpers of rust/glue.c, and
rust/abstractions/helpers.h those of rust/abstractions/helpers.c; the Rust
files that call them declare them again in `extern "C"` blocks, which the
compiler cannot check against the C.  This compares the two: the same
functions, each with the same parameters and return type, C types mapped
to the Rust types that stand for them (a `__user` pointer is `UserPtr`;
`struct file_dedupe_range` and `struct file_dedupe_range_info` are
`RangeHeader` and `RangeInfo`, whose layouts records.rs asserts).

usage: glue-abi.py HEADER.h... RUST_FILE.rs...
"""
import re
import sys

SCALARS = {
    'bool': 'bool',
    'int': 'c_int',
    'unsigned int': 'c_uint',
    'unsigned long': 'c_ulong',
    'loff_t': 'loff_t',
    'u64': 'u64',
    'void': '()',
}
STRUCTS = {
    'file': 'file',
    'inode': 'inode',
    'task_struct': 'task_struct',
    'file_dedupe_range': 'RangeHeader',
    'file_dedupe_range_info': 'RangeInfo',
}


def c_type(decl):
    """The Rust type a C parameter or return type stands for."""
    decl = ' '.join(decl.split())
    if '*' not in decl:
        return SCALARS.get(decl, '?' + decl)
    if '__user' in decl:
        return 'UserPtr'
    m = re.fullmatch(r'(const )?struct (\w+) \*', decl)
    if not m:
        return '?' + decl
    return ('*const ' if m.group(1) else '*mut ') + STRUCTS.get(m.group(2), '?' + m.group(2))


def c_prototypes(path):
    text = re.sub(r'/\*.*?\*/', '', open(path).read(), flags=re.S)
    protos = {}
    for ret, name, params in re.findall(r'^([a-z][\w ]*?)\s*\b(fidedupe_\w+)\(([^)]*)\);', text,
                                        flags=re.M | re.S):
        args = []
        if params.strip() != 'void':
            for p in params.split(','):
                # The type is what precedes the parameter's name.
                m = re.fullmatch(r'(.*?)\b\w+', p.strip(), flags=re.S)
                args.append(c_type(re.sub(r'\s*\*', ' *', m.group(1)).strip()))
        protos[name] = (args, c_type(ret))
    return protos


def rust_declarations(paths):
    decls = {}
    for path in paths:
        text = open(path).read()
        for block in re.findall(r'extern "C" \{(.*?)\n\s*\}', text, flags=re.S):
            for name, params, ret in re.findall(
                    r'fn (\w+)\(([^)]*)\)\s*(?:->\s*([^;]+))?;', block, flags=re.S):
                args = [' '.join(p.split(':', 1)[1].split()) for p in params.split(',') if p.strip()]
                decls[name] = (args, ' '.join((ret or '()').split()), path)
    return decls


def main():
    headers = [a for a in sys.argv[1:] if a.endswith('.h')]
    protos = {}
    for header in headers:
        protos.update(c_prototypes(header))
    decls = rust_declarations([a for a in sys.argv[1:] if a.endswith('.rs')])
    bad = []
    for name in sorted(set(protos) | set(decls)):
        if name not in decls:
            continue  # a helper Rust does not call (none today)
        if name not in protos:
            bad.append('%s: declared in %s, not in %s' % (name, decls[name][2], ' '.join(headers)))
            continue
        (cargs, cret), (rargs, rret, path) = protos[name], decls[name]
        if cargs != rargs or cret != rret:
            bad.append('%s: the header says (%s) -> %s, %s says (%s) -> %s'
                       % (name, ', '.join(cargs), cret, path, ', '.join(rargs), rret))
    if bad:
        sys.exit('glue-abi: the Rust declarations disagree with the headers:\n  '
                 + '\n  '.join(bad))
    if not decls:
        sys.exit('glue-abi: no extern "C" declarations found')


if __name__ == '__main__':
    main()
