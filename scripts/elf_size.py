#!/usr/bin/env python3
"""Flash and RAM of a firmware ELF, and the share of given crates.

Usage: scripts/elf_size.py FIRMWARE.elf [CRATE ...]

Prints text/data/bss like `size`, flash (text + data) and RAM (data + bss),
then for each crate the bytes of functions and read-only data (flash) and of
statics (RAM) whose mangled symbol names mention it. Code inlined into
another crate's functions counts for that crate, so shares are lower bounds.
"""
import struct
import sys

SHF_WRITE, SHF_ALLOC, SHF_EXECINSTR = 1, 2, 4
SHT_NOBITS, SHT_SYMTAB = 8, 2


def sections(data):
    if data[:4] != b"\x7fELF" or data[4] != 1:
        sys.exit("error: not a 32-bit ELF file")
    shoff, = struct.unpack_from("<I", data, 0x20)
    shentsize, shnum, shstrndx = struct.unpack_from("<HHH", data, 0x2E)
    out = []
    for i in range(shnum):
        name, typ, flags, addr, off, size, link, info, align, entsize = struct.unpack_from(
            "<IIIIIIIIII", data, shoff + i * shentsize)
        out.append(dict(name=name, type=typ, flags=flags, addr=addr, off=off, size=size,
                        link=link, entsize=entsize))
    strtab = out[shstrndx]
    for s in out:
        end = data.index(b"\0", strtab["off"] + s["name"])
        s["name"] = data[strtab["off"] + s["name"]:end].decode()
    return out


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    data = open(sys.argv[1], "rb").read()
    secs = sections(data)
    text = data_ = bss = 0
    kind = {}
    for i, s in enumerate(secs):
        if not s["flags"] & SHF_ALLOC or s["size"] == 0:
            continue
        if s["type"] == SHT_NOBITS:
            bss += s["size"]
            kind[i] = "ram"
        elif s["flags"] & SHF_WRITE:
            data_ += s["size"]
            kind[i] = "both"
        else:
            text += s["size"]
            kind[i] = "flash"
    print(f"text {text}  data {data_}  bss {bss}")
    print(f"flash {text + data_} bytes ({(text + data_) / 1024:.1f} KiB), "
          f"RAM {data_ + bss} bytes ({(data_ + bss) / 1024:.1f} KiB) static")
    crates = sys.argv[2:]
    if not crates:
        return
    symtab = next((s for s in secs if s["type"] == SHT_SYMTAB), None)
    if symtab is None:
        sys.exit("error: no symbol table (build with symbols)")
    strs = secs[symtab["link"]]
    flash = {c: 0 for c in crates}
    ram = {c: 0 for c in crates}
    seen = set()
    for off in range(symtab["off"], symtab["off"] + symtab["size"], 16):
        name, value, size, info, other, shndx = struct.unpack_from("<IIIBBH", data, off)
        if size == 0 or shndx not in kind or (value, size) in seen:
            continue
        seen.add((value, size))
        end = data.index(b"\0", strs["off"] + name)
        sym = data[strs["off"] + name:end].decode(errors="replace")
        for c in crates:
            if c in sym:
                if kind[shndx] == "flash":
                    flash[c] += size
                else:
                    ram[c] += size
                break
    for c in crates:
        print(f"{c}: flash {flash[c]} bytes ({flash[c] / 1024:.1f} KiB), "
              f"RAM {ram[c]} bytes ({ram[c] / 1024:.1f} KiB) in its own statics")


main()
