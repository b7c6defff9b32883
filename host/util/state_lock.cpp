// flock(2) on a file in the state directory; the file also records the holder's pid for the
// message another process gets.
#include "util/state_lock.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <string>

#include "util/files.hpp"

namespace moss {

Result<std::unique_ptr<StateLock>> StateLock::acquire(const std::filesystem::path& state_dir) {
  std::error_code ec;
  std::filesystem::create_directories(state_dir, ec);
  const std::filesystem::path file = state_dir / "moss.lock";
  int fd = ::open(file.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) {
    return Status(Code::failed_precondition, file.string() + ": cannot open: " + errno_text());
  }
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    char holder[32] = {};
    ssize_t n = ::pread(fd, holder, sizeof holder - 1, 0);
    ::close(fd);
    std::string pid = n > 0 ? std::string(holder, static_cast<std::size_t>(n)) : "unknown";
    while (!pid.empty() && (pid.back() == '\n' || pid.back() == ' '))
      pid.pop_back();
    return Status(Code::unavailable, "another moss process (pid " + pid +
                                         ") is changing plugin versions in " + state_dir.string() +
                                         "; try again when it is done");
  }
  // The pid is only for other processes' messages: failing to write it changes nothing.
  std::string pid = std::to_string(::getpid()) + "\n";
  if (::ftruncate(fd, 0) == 0) (void)!::pwrite(fd, pid.data(), pid.size(), 0);
  return std::unique_ptr<StateLock>(new StateLock(fd));
}

StateLock::~StateLock() {
  ::close(fd_);
}

}  // namespace moss
