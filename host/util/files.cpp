// Crash-safe file writes: a reader never sees a half-written file.
#include "util/files.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <random>
#include <sstream>

namespace moss {
namespace {

// Closes a file descriptor on scope exit.
class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }
  int release() {
    int fd = fd_;
    fd_ = -1;
    return fd;
  }

 private:
  int fd_;
};

Status write_all(int fd, const char* data, std::size_t size, const std::filesystem::path& file) {
  while (size > 0) {
    ssize_t n = ::write(fd, data, size);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Status(errno == ENOSPC ? Code::resource_exhausted : Code::internal,
                    file.string() + ": write failed: " + errno_text());
    }
    data += n;
    size -= static_cast<std::size_t>(n);
  }
  return Status();
}

std::filesystem::path temporary_name(const std::filesystem::path& target) {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  std::ostringstream name;
  name << "." << target.filename().string() << ".tmp-" << ::getpid() << "-" << std::hex << rng();
  return target.parent_path() / name.str();
}

// Writes through `produce(fd)` into a temporary file, then fsyncs and renames it to `target`.
template <class Produce>
Status write_atomically(const std::filesystem::path& target, Produce&& produce) {
  std::error_code ec;
  if (!target.parent_path().empty()) std::filesystem::create_directories(target.parent_path(), ec);
  if (ec) {
    return Status(Code::failed_precondition,
                  target.parent_path().string() + ": cannot create directory: " + ec.message());
  }
  std::filesystem::path temp = temporary_name(target);
  Fd fd(::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644));
  if (fd.get() < 0) {
    return Status(Code::failed_precondition, temp.string() + ": cannot create: " + errno_text());
  }
  Status written = produce(fd.get());
  if (written.ok() && ::fsync(fd.get()) != 0) {
    written = Status(Code::internal, temp.string() + ": fsync failed: " + errno_text());
  }
  if (::close(fd.release()) != 0 && written.ok()) {
    written = Status(Code::internal, temp.string() + ": close failed: " + errno_text());
  }
  if (written.ok() && ::rename(temp.c_str(), target.c_str()) != 0) {
    written = Status(Code::internal, target.string() + ": rename failed: " + errno_text());
  }
  if (!written.ok()) ::unlink(temp.c_str());
  return written;
}

}  // namespace

std::string errno_text() {
  return std::strerror(errno);
}

Result<std::string> read_file(const std::filesystem::path& file) {
  Fd fd(::open(file.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0)
    return Status(Code::not_found, file.string() + ": cannot open: " + errno_text());
  struct stat info {};
  if (::fstat(fd.get(), &info) != 0) {
    return Status(Code::internal, file.string() + ": cannot stat: " + errno_text());
  }
  // Sized from fstat, read in as few calls as the kernel allows; a file that grows or
  // shrinks meanwhile is read up to where it ends.
  std::string content(static_cast<std::size_t>(info.st_size), '\0');
  std::size_t filled = 0;
  while (true) {
    if (filled == content.size()) content.resize(content.size() + 65536);
    ssize_t n = ::read(fd.get(), content.data() + filled, content.size() - filled);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Status(Code::internal, file.string() + ": read error: " + errno_text());
    }
    if (n == 0) break;
    filled += static_cast<std::size_t>(n);
  }
  content.resize(filled);
  return content;
}

Status write_file_atomic(const std::filesystem::path& target, std::string_view data) {
  return write_atomically(target,
                          [&](int fd) { return write_all(fd, data.data(), data.size(), target); });
}

Status copy_file_atomic(const std::filesystem::path& source, const std::filesystem::path& target) {
  Fd in(::open(source.c_str(), O_RDONLY | O_CLOEXEC));
  if (in.get() < 0)
    return Status(Code::not_found, source.string() + ": cannot open: " + errno_text());
  return write_atomically(target, [&](int out) -> Status {
    char buffer[1 << 16];
    while (true) {
      ssize_t n = ::read(in.get(), buffer, sizeof buffer);
      if (n == 0) return Status();
      if (n < 0) {
        if (errno == EINTR) continue;
        return Status(Code::internal, source.string() + ": read failed: " + errno_text());
      }
      Status s = write_all(out, buffer, static_cast<std::size_t>(n), target);
      if (!s.ok()) return s;
    }
  });
}

}  // namespace moss
