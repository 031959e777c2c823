#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Writes one patch of the kernel series into a kernel tree.

The series `make patches` writes (scripts/patches.sh) is generated from
this repository's sources, so the code a reviewer reads is the code `make
check` tests.  This script knows, for each patch, which module sources it
turns into which kernel files, and how:

- a file of rust/abstractions/ that the tree does not have becomes that
  file: `pub(crate)` is `pub`, the kernel crate is `crate`, and its calls
  of the C helpers in rust/abstractions/helpers.c call the bindings of
  the same helpers moved to rust/helpers/ (`fidedupe_X` is `X`, defined
  as `rust_helper_X`);
- an extension trait `TypeExt` of rust/abstractions/ becomes inherent
  methods of `Type` in the file that defines it, with the trait's
  documentation;
- a new file is registered in its parent module and in MAINTAINERS;
- the selftests are selftests/'s without what only the module's suite
  has (the parts under FIDEDUPE_OUT_OF_TREE) and with `dedupe` for
  `fidedupe` in their names.

usage: kernel-series.py TREE REPO PATCH-NAME
       kernel-series.py --list
"""
import os
import re
import subprocess
import sys
import textwrap

import series_review

# The MAINTAINERS entry this series adds for its new files.
ENTRY = 'FILESYSTEMS [RUST DEDUPE]'
ENTRY_HEAD = """FILESYSTEMS [RUST DEDUPE]
R:\tSeed a557bc70 maintainers <maintainers@users.noreply.r-seed-a557bc70.example>
L:\tlinux-fsdevel@vger.kernel.org
L:\trust-for-linux@vger.kernel.org
S:\tMaintained
"""

# name: (message file, [(action, module source, kernel file, extra)])
SERIES = [
    ('01-task-fatal-signal-pending', [
        ('inherent', 'rust/abstractions/task.rs', 'rust/kernel/task.rs', 'Task'),
    ]),
    ('02-capability-capable', [
        ('new', 'rust/abstractions/capability.rs', 'rust/kernel/capability.rs', 'CAPABILITIES'),
    ]),
    ('03-fs-fd', [
        ('new', 'rust/abstractions/fs/fd.rs', 'rust/kernel/fs/fd.rs', ENTRY),
    ]),
    ('04-fs-inode', [
        ('new', 'rust/abstractions/fs/inode.rs', 'rust/kernel/fs/inode.rs', ENTRY),
    ]),
    ('05-fs-file-mode-inode', [
        ('inherent', 'rust/abstractions/fs/file.rs', 'rust/kernel/fs/file.rs', 'LocalFile'),
    ]),
    ('06-fs-mount', [
        ('new', 'rust/abstractions/fs/mount.rs', 'rust/kernel/fs/mount.rs', ENTRY),
    ]),
    ('07-fs-remap', [
        ('new', 'rust/abstractions/fs/remap.rs', 'rust/kernel/fs/remap.rs', ENTRY),
    ]),
    ('08-fs-dedupe-rust', [
        ('builtin', 'rust/rules.rs rust/engine.rs rust/file.rs rust/records.rs', 'fs/dedupe',
         ENTRY),
    ]),
    ('09-selftests-dedupe', [
        ('selftests', ' '.join('selftests/' + f for f in (
            'dedupe_util.h', 'dedupe_fixture.h', 'fidedupe_test.c', 'fidedupe_range_test.c',
            'fidedupe_perm_test.c', 'fidedupe_signal_test.c', 'fidedupe_hooks_test.c',
            'fidedupe_chunks_test.c', 'run_fidedupe_tests.sh', 'fidedupe_fs.sh')),
         'tools/testing/selftests/filesystems/dedupe', ENTRY),
    ]),
    ('10-docs-dedupe', [
        ('documentation', 'series/Documentation/filesystems/dedupe.rst',
         'Documentation/filesystems/dedupe.rst', ENTRY),
    ]),
]

HELPERS_C = 'rust/abstractions/helpers.c'

# Constants the module spells out, checked against C by a static_assert
# in helpers.c, because bindgen cannot evaluate their macros (a __force
# cast); in the tree they are RUST_CONST_HELPERs of bindings_helper.h.
# (C type, macro, the module's definition, the definition's documentation
# in the module, in the tree)
CONST_HELPERS = [
    ('fmode_t', 'FMODE_READ', 'pub(crate) const READ: u32 = 1 << 0;',
     "/// Bits of a file's `f_mode` (`fmode_t`), which bindgen cannot evaluate\n"
     "/// (a `__force` cast).\n", "/// Bits of a file's `f_mode` (`fmode_t`).\n"),
    ('fmode_t', 'FMODE_WRITE', 'pub(crate) const WRITE: u32 = 1 << 1;', None, None),
]


def read(path):
    with open(path) as f:
        return f.read()


def write(path, text):
    with open(path, 'w') as f:
        f.write(text)


def block_end(text, start):
    """The index just past the brace that closes the one opened at or
    after `start`."""
    depth = 0
    i = text.index('{', start)
    while True:
        c = text[i]
        if c == '{':
            depth += 1
        elif c == '}':
            depth -= 1
            if depth == 0:
                return i + 1
        i += 1


def drop_series_note(text):
    """The module's note on where a file goes in the tree is not the
    tree's."""
    return re.sub(r'//! In the tree:.*?\n//!\n', '', text, count=1, flags=re.S)


def helper_names(text):
    """The C helpers a file declares in its `mod helper`, and the file
    without that module (and its doc comment)."""
    m = re.search(r'(?:^///[^\n]*\n)*^mod helper \{', text, flags=re.M)
    if not m:
        return [], text
    end = block_end(text, m.start())
    names = re.findall(r'fn fidedupe_(\w+)\(', text[m.start():end])
    rest = text[:m.start()] + text[end:].lstrip('\n')
    rest = re.sub(r'helper::fidedupe_(\w+)\(', r'bindings::\1(', rest)
    return names, rest


def kernel_paths(text):
    return text.replace('pub(crate) ', 'pub ').replace('use kernel::', 'use crate::')


def ensure_import(text, name):
    """Adds `name` to the first `use crate::{...}` of `text` if absent."""
    m = re.search(r'^use crate::\{\n(.*?)^\};', text, flags=re.M | re.S)
    if not m or re.search(r'^\s+%s,' % name, m.group(1), flags=re.M):
        return text
    items = m.group(1).rstrip('\n').split('\n')
    items.insert(0, '    %s,' % name)
    return text[:m.start(1)] + '\n'.join(items) + '\n' + text[m.end(1):]


def helpers_for(names):
    """The C helpers `names`, from helpers.c, each with the comment
    before it, as rust/helpers/ defines them, by the file they go to."""
    text = read(HELPERS_C)
    out = {}
    for name in names:
        m = re.search(r'(?:^/\*(?:(?!\*/).)*\*/\n)?^([a-z][^\n(]*?)\bfidedupe_%s\(' % name,
                      text, flags=re.M | re.S)
        if not m:
            sys.exit('kernel-series: no helper fidedupe_%s in %s' % (name, HELPERS_C))
        end = block_end(text, m.start(1))
        body = text[m.start():end]
        # The file it goes to: the last /* rust/helpers/FILE */ above it.
        where = re.findall(r'^/\* (rust/helpers/\S+) \*/$', text[:m.start()], flags=re.M)
        if not where:
            sys.exit('kernel-series: fidedupe_%s: no /* rust/helpers/FILE */ above it' % name)
        body = re.sub(r'^([a-z][^\n(]*?)\bfidedupe_%s\(' % name,
                      r'__rust_helper \1rust_helper_%s(' % name, body, flags=re.M)
        out.setdefault(where[-1], []).append(body)
    return out


def add_helpers(tree, names):
    for path, bodies in helpers_for(names).items():
        text = read('%s/%s' % (tree, path))
        write('%s/%s' % (tree, path), text.rstrip('\n') + '\n\n' + '\n\n'.join(bodies) + '\n')


def register_module(tree, dst):
    """`pub mod NAME;` in the parent module, in order."""
    parent = dst.rsplit('/', 1)[0] + '.rs'
    if parent == 'rust/kernel.rs':
        parent = 'rust/kernel/lib.rs'
    name = dst.rsplit('/', 1)[1][:-3]
    text = read('%s/%s' % (tree, parent))
    mods = list(re.finditer(r'^pub mod (\w+);$', text, flags=re.M))
    after = [m for m in mods if m.group(1) < name]
    at = (after[-1].end() + 1) if after else mods[0].start()
    write('%s/%s' % (tree, parent), text[:at] + 'pub mod %s;\n' % name + text[at:])


def add_to_maintainers(tree, entry, pattern):
    """`F:\tpattern` in `entry`, among its other F: lines in order; a new
    entry, in order among the others, if there is none."""
    path = '%s/MAINTAINERS' % tree
    text = read(path)
    m = re.search(r'^%s\n(?:.+\n)*' % re.escape(entry), text, flags=re.M)
    if not m:
        # After the entry that sorts last before it: the file is sorted
        # only by and large.
        heads = re.finditer(r'^(?![A-Z]:\t)([A-Z0-9][^\n]*)\n(?=[A-Z]:\t)', text, flags=re.M)
        prev = max((h for h in heads if h.group(1) < entry), key=lambda h: h.group(1))
        at = text.index('\n\n', prev.start()) + 2
        text = text[:at] + ENTRY_HEAD + 'F:\t%s\n\n' % pattern + text[at:]
    else:
        lines = m.group(0).rstrip('\n').split('\n')
        files = [i for i, ln in enumerate(lines) if ln.startswith('F:\t')]
        at = next((i for i in files if lines[i][3:] > pattern), files[-1] + 1)
        lines.insert(at, 'F:\t%s' % pattern)
        text = text[:m.start()] + '\n'.join(lines) + '\n' + text[m.end():]
    write(path, text)


def rustfmt(tree, dst):
    """Formats `dst` as the tree's `make rustfmt` would (a file without
    `mod` declarations of its own, so nothing else is touched)."""
    subprocess.run(['rustfmt', '--edition', '2021', '--config-path',
                    '%s/.rustfmt.toml' % tree, '%s/%s' % (tree, dst)], check=True)


def new_file(tree, src, dst, entry):
    names, text = helper_names(drop_series_note(read(src)))
    text = kernel_paths(text)
    if names:
        text = ensure_import(text, 'bindings')
    write('%s/%s' % (tree, dst), text)
    rustfmt(tree, dst)
    add_helpers(tree, names)
    register_module(tree, dst)
    add_to_maintainers(tree, entry, dst)


def trait_docs(text, trait):
    """Each method's documentation in the declaration of `trait`."""
    m = re.search(r'^pub\(crate\) trait %s \{' % trait, text, flags=re.M)
    body = text[m.end():block_end(text, m.start()) - 1]
    return dict((name, doc) for doc, name in
                re.findall(r'((?:^    ///[^\n]*\n)+)    fn (\w+)', body, flags=re.M))


def use_paths(text):
    """The paths the top-level `use` declarations of `text` import,
    nested groups flattened (`a::{b, c::d}` is `a::b` and `a::c::d`)."""
    paths = []
    for decl in re.findall(r'^use ([^;]*);', text, flags=re.M | re.S):
        decl = re.sub(r'//[^\n]*', '', decl)
        decl = ''.join(decl.split())

        def flatten(prefix, tree):
            if not tree.endswith('}'):
                paths.append(prefix + tree)
                return
            head, body = tree.split('{', 1)
            depth, item = 0, ''
            for c in body[:-1] + ',':
                if c == ',' and depth == 0:
                    if item:
                        flatten(prefix + head, item)
                    item = ''
                    continue
                depth += (c == '{') - (c == '}')
                item += c
        flatten('', decl)
    return paths


def add_imports(text, paths):
    """`use` declarations after the last one of `text` for each of `paths`
    whose name `text` neither imports nor defines."""
    uses = ' '.join(re.findall(r'^use [^;]*;', text, flags=re.M | re.S))
    new = []
    for path in paths:
        name = path.rsplit('::', 1)[-1]
        if name in ('*', 'self') or re.search(r'\b%s\b' % name, uses) or \
           re.search(r'^\s*(?:pub )?(?:struct|enum|fn|mod|trait|type) %s\b' % name, text, flags=re.M):
            continue
        new.append('use %s;\n' % path.replace('kernel::', 'crate::', 1))
    if not new:
        return text
    last = list(re.finditer(r'^use [^;]*;\n', text, flags=re.M | re.S))[-1]
    return text[:last.end()] + ''.join(new) + text[last.end():]


def const_helpers(tree, text):
    """`text` with the constants of CONST_HELPERS taken from bindings,
    and each added to the tree's bindings_helper.h."""
    path = '%s/rust/bindings/bindings_helper.h' % tree
    helpers = read(path)
    for ctype, macro, module_def, module_doc, tree_doc in CONST_HELPERS:
        if module_def not in text:
            continue
        name = module_def.split(':')[0]
        text = text.replace(module_def, '%s: u32 = super::bindings::%s;' % (name, macro))
        if module_doc:
            text = text.replace(module_doc, tree_doc)
        line = 'const %s RUST_CONST_HELPER_%s = %s;\n' % (ctype, macro, macro)
        last = list(re.finditer(r'^const \w+ RUST_CONST_HELPER_\w+ = \w+;\n', helpers,
                                flags=re.M))[-1]
        helpers = helpers[:last.end()] + line + helpers[last.end():]
    write(path, helpers)
    return text


def inherent(tree, src, dst, ty):
    """The methods of `TyExt` become inherent methods of `Ty`; the other
    items of the module source are added at the end of the file."""
    names, text = helper_names(drop_series_note(read(src)))
    text = const_helpers(tree, text)
    trait = ty + 'Ext'
    docs = trait_docs(text, trait)
    imports = [p for p in use_paths(text) if not p.endswith('::' + trait)]
    # Items: everything after the imports, but the trait and its impl.
    m = re.search(r'^pub\(crate\) trait %s \{' % trait, text, flags=re.M)
    decl = re.search(r'(?:^///[^\n]*\n)*\Z', text[:m.start()], flags=re.M)
    text = text[:decl.start()] + text[block_end(text, m.start()):].lstrip('\n')
    m = re.search(r'^impl %s for %s \{\n' % (trait, ty), text, flags=re.M)
    end = block_end(text, m.start())
    methods = text[m.end():end - 1]
    text = text[:m.start()] + text[end:].lstrip('\n')
    for name, doc in docs.items():
        methods = re.sub(r'^(    #\[inline\]\n)?    fn %s\b' % name,
                         lambda mm: doc + (mm.group(1) or '') + '    pub fn ' + name,
                         methods, flags=re.M)
    last_use = list(re.finditer(r'^use [^;]*;\n', text, flags=re.M | re.S))[-1]
    items = kernel_paths(text[last_use.end():]).strip('\n')
    path = '%s/%s' % (tree, dst)
    dtext = read(path)
    m = re.search(r'^impl %s \{\n' % ty, dtext, flags=re.M)
    end = block_end(dtext, m.start())
    dtext = dtext[:end - 1] + '\n' + methods.rstrip('\n') + '\n' + dtext[end - 1:]
    if items:
        dtext = dtext.rstrip('\n') + '\n\n' + items + '\n'
    write(path, add_imports(dtext, imports))
    rustfmt(tree, dst)
    add_helpers(tree, names)


def format_use(root, paths):
    """One `use ROOT::{...};` of `paths` (relative to ROOT), nested, one
    item per line, in the kernel's style (rustfmt sorts it)."""
    tree = {}
    for path in paths:
        node = tree
        for part in path.split('::'):
            node = node.setdefault(part, {})

    def items(node, indent):
        out = []
        for name in sorted(node, key=lambda n: (n[:1].isupper(), n)):
            sub = node[name]
            # `a::b` for a group of one leaf.
            while len(sub) == 1 and not next(iter(sub.values())):
                name, sub = name + '::' + next(iter(sub)), {}
            if not sub:
                out.append(indent + name + ',')
            else:
                out.append(indent + name + '::{')
                out += items(sub, indent + '    ')
                out.append(indent + '},')
        out[-1] += ' //' if not out[-1].endswith('},') else ''
        return out
    return 'use %s::{\n%s\n};\n' % (root, '\n'.join(items(tree, '    ')))


def builtin_crate_file(text):
    """A file of the module's crate as the built-in crate has it: the
    abstractions are the kernel crate's, extension traits inherent
    methods, and the KUnit suites are chosen in Kconfig."""
    decls = list(re.finditer(r'^use (?:kernel|crate::abstractions)::[^;]*;\n', text,
                             flags=re.M | re.S))
    if decls:
        paths = []
        for d in decls:
            for path in use_paths(d.group(0)):
                path = re.sub(r'^crate::abstractions::', 'kernel::', path)
                if not path.endswith('Ext'):
                    paths.append(path[len('kernel::'):])
        first, rest = decls[0], decls[1:]
        for d in reversed(rest):
            text = text[:d.start()] + text[d.end():]
        text = text[:first.start()] + format_use('kernel', paths) + text[first.end():]
    text = text.replace('#[cfg(fidedupe_kunit)]', '#[cfg(CONFIG_VFS_DEDUPE_RUST_KUNIT_TEST)]')
    return re.sub(r'#\[kunit_tests\(fidedupe_(\w+)\)\]', r'#[kunit_tests(vfs_dedupe_\1)]', text)


def builtin(tree, srcs, dst, entry):
    """The built-in implementation: the module's crate files `srcs` in
    `dst`, with the files of series/`dst` (its root, Makefile and
    Kconfig); chosen in fs/Kconfig, built from fs/Makefile, and the C
    implementation compiled only when it is chosen."""
    os.makedirs('%s/%s' % (tree, dst), exist_ok=True)
    for src in srcs.split():
        name = src.rsplit('/', 1)[1]
        write('%s/%s/%s' % (tree, dst, name), builtin_crate_file(read(src)))
        rustfmt(tree, '%s/%s' % (dst, name))
    for name in os.listdir('series/' + dst):
        write('%s/%s/%s' % (tree, dst, name), read('series/%s/%s' % (dst, name)))
    path = '%s/fs/Kconfig' % tree
    text = read(path)
    at = text.index('source "fs/crypto/Kconfig"')
    write(path, text[:at] + 'source "%s/Kconfig"\n\n' % dst + text[at:])
    path = '%s/fs/Makefile' % tree
    text = read(path)
    at = text.index('obj-$(CONFIG_EPOLL)')
    write(path, text[:at] + 'obj-$(CONFIG_VFS_DEDUPE_RUST)\t+= dedupe/\n' + text[at:])
    path = '%s/fs/remap_range.c' % tree
    text = read(path)
    start = text.index('int vfs_dedupe_file_range(struct file *file,')
    end = text.index('EXPORT_SYMBOL(vfs_dedupe_file_range);')
    text = (text[:start] + '#ifdef CONFIG_VFS_DEDUPE_C\n' + text[start:end] +
            '#endif /* CONFIG_VFS_DEDUPE_C */\n' + text[end:])
    write(path, text)
    add_to_maintainers(tree, entry, dst + '/')


def without_out_of_tree(text):
    """`text` without its FIDEDUPE_OUT_OF_TREE parts: the lines under
    `#ifdef FIDEDUPE_OUT_OF_TREE` go, those under its `#else` stay, and
    the three lines themselves go (in a shell script they are comments,
    and only the first kind is used)."""
    out, stack = [], []
    for line in text.splitlines(keepends=True):
        directive = re.match(r'#\s*(ifdef|ifndef|if|else|endif)\b\s*(\w*)', line)
        if directive and directive.group(1) in ('ifdef', 'ifndef', 'if'):
            ours = directive.group(2) == 'FIDEDUPE_OUT_OF_TREE'
            stack.append((ours, directive.group(1) == 'ifndef' if ours else True))
            if ours:
                continue
        elif directive and directive.group(1) == 'else' and stack[-1][0]:
            stack[-1] = (True, not stack[-1][1])
            continue
        elif directive and directive.group(1) == 'endif':
            if stack.pop()[0]:
                continue
        if all(keep for _, keep in stack):
            out.append(line)
    return ''.join(out)


# The selftests' names in the tree: the module's name goes.
SELFTEST_NAMES = [('FIDEDUPE_DEDUPE_', 'DEDUPE_'), ('FIDEDUPE_', 'DEDUPE_'),
                  ('fidedupe_', 'dedupe_'), ('fidedupe-', 'dedupe-'),
                  ('/tmp/fidedupe', '/tmp/dedupe')]


def selftests(tree, srcs, dst, entry):
    """The selftests `srcs` in `dst`, with the files of series/`dst`
    (Makefile, config, settings, .gitignore): each file without its
    out-of-tree parts and renamed; nothing may be left that names the
    module, its device or its livepatch.  Listed in the selftests'
    TARGETS and in MAINTAINERS."""
    os.makedirs('%s/%s' % (tree, dst), exist_ok=True)
    for src in srcs.split():
        name, text = src.rsplit('/', 1)[1], without_out_of_tree(read(src))
        # A part taken out leaves the blank lines around it.
        text = re.sub(r'\n{3,}', '\n\n', text)
        for old, new in SELFTEST_NAMES:
            name, text = name.replace(old, new), text.replace(old, new)
        left = [n for n, line in enumerate(text.splitlines(), 1)
                if re.search(r'fidedupe|livepatch|PATH_MODULE', line)]
        if left:
            sys.exit('kernel-series: %s: out-of-tree lines left in the tree at %s' %
                     (src, ', '.join(map(str, left))))
        write('%s/%s/%s' % (tree, dst, name), text)
        if name.startswith('run_'):
            os.chmod('%s/%s/%s' % (tree, dst, name), 0o755)
    for name in os.listdir('series/' + dst):
        write('%s/%s/%s' % (tree, dst, name), read('series/%s/%s' % (dst, name)))
    path = '%s/tools/testing/selftests/Makefile' % tree
    text = read(path)
    at = text.index('TARGETS += filesystems/epoll\n')
    write(path, text[:at] + 'TARGETS += %s\n' % dst.split('selftests/', 1)[1] + text[at:])
    add_to_maintainers(tree, entry, dst + '/')


def review_table(path):
    """Documentation/review.rst's tables as the series tells them
    (scripts/series_review.py), in one table without the tests column:
    the question, the C implementation's answer, the Rust one's."""
    def cell(text, first):
        return textwrap.fill(text, 72, initial_indent=first, subsequent_indent='       ',
                             break_on_hyphens=False, break_long_words=False)
    rows = [['Question', 'C (``CONFIG_VFS_DEDUPE_C``)', 'Rust (``CONFIG_VFS_DEDUPE_RUST``)']]
    rows += [row[:3] for row in series_review.rows(read(path))]
    out = ['.. list-table::', '   :header-rows: 1', '   :widths: 30 35 35', '']
    for row in rows:
        out.append(cell(row[0], '   * - '))
        out += [cell(c, '     - ') for c in row[1:]]
    return '\n'.join(out) + '\n'


def documentation(tree, src, dst, entry):
    """The page `src` of series/, its table filled from review.rst, in the
    index beside it and in MAINTAINERS."""
    text = read(src).replace('@review-table@\n', review_table('Documentation/review.rst'))
    write('%s/%s' % (tree, dst), text)
    index = '%s/%s/index.rst' % (tree, dst.rsplit('/', 1)[0])
    itext = read(index)
    name = dst.rsplit('/', 1)[1][:-4]
    at = itext.index('   dnotify\n') + len('   dnotify\n')
    write(index, itext[:at] + '   %s\n' % name + itext[at:])
    add_to_maintainers(tree, entry, dst)


def main():
    if sys.argv[1:] == ['--list']:
        for name, changes in SERIES:
            print(name, ' '.join(src for _, src, _, _ in changes),
                  ' '.join('series/' + dst for action, _, dst, _ in changes if action in ('builtin', 'selftests')),
                  ' '.join('Documentation/review.rst' for action, _, _, _ in changes
                           if action == 'documentation'))
        return
    tree, repo, name = sys.argv[1:]
    os.chdir(repo)
    changes = dict(SERIES).get(name)
    if changes is None:
        sys.exit('kernel-series: no patch %s' % name)
    for action, src, dst, extra in changes:
        {'new': new_file, 'inherent': inherent, 'builtin': builtin,
         'selftests': selftests, 'documentation': documentation}[action](tree, src, dst, extra)


if __name__ == '__main__':
    main()
