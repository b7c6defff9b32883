// ELF parsing for plugin inspection. Every offset read from the file is checked against the
// file's size before use: inspection must survive truncated and hostile files.
#include "loader/elf.hpp"

#include <elf.h>

#include <cstring>
#include <sstream>

namespace moss {
namespace {

#if defined(__x86_64__)
constexpr std::uint16_t kHostMachine = EM_X86_64;
#elif defined(__aarch64__)
constexpr std::uint16_t kHostMachine = EM_AARCH64;
#else
constexpr std::uint16_t kHostMachine = EM_NONE;
#endif

std::string machine_name(std::uint16_t machine) {
  switch (machine) {
    case EM_X86_64: return "x86-64";
    case EM_AARCH64: return "AArch64";
    case EM_386: return "i386";
    case EM_ARM: return "ARM";
    case EM_RISCV: return "RISC-V";
    default: return "machine " + std::to_string(machine);
  }
}

std::string elf_type_name(std::uint16_t type) {
  switch (type) {
    case ET_REL: return "a relocatable object (ET_REL)";
    case ET_EXEC: return "an executable (ET_EXEC)";
    case ET_DYN: return "a shared object (ET_DYN)";
    case ET_CORE: return "a core dump (ET_CORE)";
    default: return "ELF type " + std::to_string(type);
  }
}

std::string hex_bytes(const std::string& data, std::size_t count) {
  std::ostringstream out;
  for (std::size_t i = 0; i < count && i < data.size(); ++i) {
    if (i > 0) out << ' ';
    out << std::hex;
    out.width(2);
    out.fill('0');
    out << static_cast<unsigned>(static_cast<unsigned char>(data[i]));
  }
  return out.str();
}

class Reader {
 public:
  Reader(const std::filesystem::path& file, const std::string& data) : file_(file), data_(data) {}

  // Checks that [offset, offset + size) lies inside the file.
  Status check_range(std::uint64_t offset, std::uint64_t size, const char* what) const {
    if (offset > data_.size() || size > data_.size() - offset) {
      std::ostringstream m;
      m << file_.string() << ": truncated or corrupt ELF file: " << what << " spans bytes ["
        << offset << ", " << offset + size << "), expected it within the file's " << data_.size()
        << " bytes";
      return Status(Code::invalid_argument, m.str());
    }
    return Status();
  }

  template <class T>
  Result<T> read(std::uint64_t offset, const char* what) const {
    Status in_range = check_range(offset, sizeof(T), what);
    if (!in_range.ok()) return in_range;
    T value{};
    std::memcpy(&value, data_.data() + offset, sizeof(T));
    return value;
  }

  // A NUL-terminated string at `offset` inside the string table [table, table + size).
  Result<std::string> string_at(std::uint64_t table, std::uint64_t size, std::uint64_t offset,
                                const char* what) const {
    if (offset >= size) {
      return Status(Code::invalid_argument, file_.string() + ": corrupt ELF file: " + what +
                                                " name offset " + std::to_string(offset) +
                                                " is outside its string table of " +
                                                std::to_string(size) + " bytes");
    }
    const char* begin = data_.data() + table + offset;
    const void* nul = std::memchr(begin, '\0', size - offset);
    if (nul == nullptr) {
      return Status(Code::invalid_argument,
                    file_.string() + ": corrupt ELF file: unterminated " + what + " name");
    }
    return std::string(begin, static_cast<const char*>(nul));
  }

  const std::string& data() const { return data_; }

 private:
  const std::filesystem::path& file_;
  const std::string& data_;
};

Status check_header(const std::filesystem::path& file, const Elf64_Ehdr& header) {
  const std::string name = file.string();
  if (header.e_ident[EI_CLASS] != ELFCLASS64) {
    return Status(Code::invalid_argument,
                  name + ": wrong ELF class: expected 64-bit (ELFCLASS64), found " +
                      (header.e_ident[EI_CLASS] == ELFCLASS32 ? "32-bit" : "an unknown class"));
  }
  if (header.e_ident[EI_DATA] != ELFDATA2LSB) {
    return Status(Code::invalid_argument,
                  name + ": wrong byte order: expected little-endian, found big-endian");
  }
  if (header.e_type != ET_DYN) {
    return Status(Code::invalid_argument, name + ": not a shared library: expected " +
                                              elf_type_name(ET_DYN) + ", found " +
                                              elf_type_name(header.e_type));
  }
  if (header.e_machine != kHostMachine) {
    return Status(Code::invalid_argument, name + ": built for another machine: expected " +
                                              machine_name(kHostMachine) + ", found " +
                                              machine_name(header.e_machine));
  }
  if (header.e_shoff == 0 || header.e_shnum == 0) {
    return Status(Code::invalid_argument,
                  name +
                      ": ELF file has no section headers (stripped with --strip-sections?); "
                      "expected a section table");
  }
  if (header.e_shentsize != sizeof(Elf64_Shdr)) {
    return Status(Code::invalid_argument, name + ": corrupt ELF file: section header size is " +
                                              std::to_string(header.e_shentsize) +
                                              " bytes, expected " +
                                              std::to_string(sizeof(Elf64_Shdr)));
  }
  if (header.e_shstrndx >= header.e_shnum) {
    return Status(Code::invalid_argument, name + ": corrupt ELF file: section name table index " +
                                              std::to_string(header.e_shstrndx) +
                                              " is not below the section count " +
                                              std::to_string(header.e_shnum));
  }
  return Status();
}

Status read_symbols(const Reader& reader, const std::vector<Elf64_Shdr>& sections,
                    const Elf64_Shdr& symtab, std::vector<ElfSymbol>& out) {
  if (symtab.sh_entsize != sizeof(Elf64_Sym) || symtab.sh_link >= sections.size()) {
    return Status(Code::invalid_argument, "corrupt ELF file: malformed .dynsym header");
  }
  const Elf64_Shdr& strtab = sections[symtab.sh_link];
  Status s = reader.check_range(symtab.sh_offset, symtab.sh_size, "the dynamic symbol table");
  if (!s.ok()) return s;
  s = reader.check_range(strtab.sh_offset, strtab.sh_size, "the dynamic string table");
  if (!s.ok()) return s;

  std::uint64_t count = symtab.sh_size / sizeof(Elf64_Sym);
  for (std::uint64_t i = 1; i < count; ++i) {  // entry 0 is the reserved null symbol
    auto sym = reader.read<Elf64_Sym>(symtab.sh_offset + i * sizeof(Elf64_Sym), "a symbol");
    if (!sym.ok()) return sym.status();
    unsigned binding = ELF64_ST_BIND(sym->st_info);
    unsigned visibility = ELF64_ST_VISIBILITY(sym->st_other);
    bool defined = sym->st_shndx != SHN_UNDEF;
    bool visible = visibility == STV_DEFAULT || visibility == STV_PROTECTED;
    if (!defined || !visible || binding == STB_LOCAL) continue;
    auto name = reader.string_at(strtab.sh_offset, strtab.sh_size, sym->st_name, "symbol");
    if (!name.ok()) return name.status();
    ElfSymbol symbol;
    symbol.name = std::move(name.value());
    symbol.global = binding == STB_GLOBAL || binding == STB_WEAK;
    symbol.unique = binding == STB_GNU_UNIQUE;
    symbol.defined = true;
    out.push_back(std::move(symbol));
  }
  return Status();
}

}  // namespace

Result<ElfImage> parse_elf(const std::filesystem::path& file, const std::string& data,
                           const std::string& section_name) {
  const std::string name = file.string();

  static constexpr unsigned char kMagic[] = {0x7f, 'E', 'L', 'F'};
  if (data.size() < sizeof kMagic || std::memcmp(data.data(), kMagic, sizeof kMagic) != 0) {
    return Status(Code::invalid_argument,
                  name + ": not an ELF file: expected magic bytes 7f 45 4c 46, found " +
                      (data.empty() ? std::string("an empty file") : hex_bytes(data, 4)));
  }
  Reader reader(file, data);
  auto header = reader.read<Elf64_Ehdr>(0, "the ELF header");
  if (!header.ok()) return header.status();
  Status valid = check_header(file, header.value());
  if (!valid.ok()) return valid;

  Status in_range =
      reader.check_range(header->e_shoff, std::uint64_t{header->e_shnum} * sizeof(Elf64_Shdr),
                         "the section header table");
  if (!in_range.ok()) return in_range;
  std::vector<Elf64_Shdr> sections(header->e_shnum);
  std::memcpy(sections.data(), data.data() + header->e_shoff, sections.size() * sizeof(Elf64_Shdr));

  const Elf64_Shdr& names = sections[header->e_shstrndx];
  in_range = reader.check_range(names.sh_offset, names.sh_size, "the section name table");
  if (!in_range.ok()) return in_range;

  ElfImage image;
  image.size_bytes = data.size();
  for (const Elf64_Shdr& section : sections) {
    if (section.sh_type == SHT_DYNSYM) {
      Status s = read_symbols(reader, sections, section, image.dynamic_symbols);
      if (!s.ok()) return Status(s.code(), name + ": " + s.message());
      continue;
    }
    if (section.sh_type == SHT_NOBITS) continue;
    auto section_title =
        reader.string_at(names.sh_offset, names.sh_size, section.sh_name, "section");
    if (!section_title.ok()) return section_title.status();
    if (section_title.value() != section_name) continue;
    in_range =
        reader.check_range(section.sh_offset, section.sh_size, ("section " + section_name).c_str());
    if (!in_range.ok()) return in_range;
    image.section_data = data.substr(section.sh_offset, section.sh_size);
  }
  return image;
}

}  // namespace moss
