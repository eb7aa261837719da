#include "troupe/bridges/shm_segment.hpp"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <vector>

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "troupe/errc.hpp"

namespace troupe::bridges {

namespace {

std::string slashed(const std::string& name) {
  return !name.empty() && name[0] == '/' ? name : "/" + name;
}

caf::error sys_error(const std::string& what, const std::string& name) {
  return make_error(errc::system_error, what + " " + name + ": " + std::strerror(errno));
}

// Maps `fd` (closed afterwards either way).
caf::expected<void*> map_fd(int fd, size_t size, const std::string& name) {
  auto* addr = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  auto err = errno;
  ::close(fd);
  if (addr == MAP_FAILED) {
    errno = err;
    return sys_error("mmap", name);
  }
  return addr;
}

std::string octal_mode(mode_t mode) {
  char buf[8];
  std::snprintf(buf, sizeof(buf), "%04o", static_cast<unsigned>(mode & 07777));
  return buf;
}

// Refuses a segment another user could have written: it must belong to us and be 0600 (no
// group or other bits), whoever created it. Checked on the open descriptor, so a name swapped
// after the check does not matter.
caf::error check_owner(const struct stat& st, const std::string& name) {
  if (st.st_uid != ::geteuid())
    return make_error(errc::bad_config,
                      "shm segment " + name + " belongs to uid " + std::to_string(st.st_uid)
                        + ", not to this user (uid " + std::to_string(::geteuid())
                        + "): refused; its owner or root must remove /dev/shm" + name);
  if ((st.st_mode & 0077) != 0)
    return make_error(errc::bad_config, "shm segment " + name + " has mode "
                                          + octal_mode(st.st_mode)
                                          + ", not 0600: refused (another user could write it)");
  return caf::none;
}

} // namespace

std::string describe_existing_segment(const std::string& name) {
  auto n = slashed(name);
  struct stat st;
  if (::stat(("/dev/shm" + n).c_str(), &st) != 0)
    return "shm segment " + n + " exists";
  if (st.st_uid != ::geteuid())
    return "shm segment " + n + " already exists and belongs to uid " + std::to_string(st.st_uid)
           + " (another user, mode " + octal_mode(st.st_mode)
           + "): the name is taken; its owner or root must remove /dev/shm" + n;
  auto seg = shm_segment::open(n);
  if (!seg)
    return describe(seg.error());
  auto* h = seg->header();
  if (h->ready.load(std::memory_order_acquire) != 1 || h->magic != shm_segment_header::magic_value)
    return "shm segment " + n + " already exists and is not a Troupe segment; remove /dev/shm" + n;
  return "shm segment " + n + " is in use by process " + std::to_string(h->creator_pid)
         + " (another node with the same app and node name?)";
}

shm_segment::shm_segment(shm_segment&& other) noexcept
  : name_(std::move(other.name_)), addr_(other.addr_), size_(other.size_), owner_(other.owner_),
    dev_(other.dev_), ino_(other.ino_) {
  other.addr_ = nullptr;
  other.owner_ = false;
}

shm_segment& shm_segment::operator=(shm_segment&& other) noexcept {
  if (this != &other) {
    reset();
    name_ = std::move(other.name_);
    addr_ = other.addr_;
    size_ = other.size_;
    owner_ = other.owner_;
    dev_ = other.dev_;
    ino_ = other.ino_;
    other.addr_ = nullptr;
    other.owner_ = false;
  }
  return *this;
}

shm_segment::~shm_segment() {
  reset();
}

void shm_segment::reset() noexcept {
  if (owner_)
    unlink();
  if (addr_ != nullptr)
    ::munmap(addr_, size_);
  addr_ = nullptr;
  owner_ = false;
}

void shm_segment::unlink() {
  if (!name_.empty())
    ::shm_unlink(name_.c_str()); // ENOENT: the peer or a cleanup was first, which is fine
  owner_ = false;
}

caf::expected<shm_segment> shm_segment::create(const std::string& name, size_t size) {
  auto n = slashed(name);
  auto fd = ::shm_open(n.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    if (errno == EEXIST)
      return make_error(errc::system_error, describe_existing_segment(n));
    return sys_error("shm_open(create)", n);
  }
  // shm_open applies the umask; make 0600 explicit.
  ::fchmod(fd, 0600);
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    auto err = sys_error("fstat", n);
    ::close(fd);
    ::shm_unlink(n.c_str());
    return err;
  }
  if (::ftruncate(fd, static_cast<off_t>(size)) != 0) {
    auto err = sys_error("ftruncate", n);
    ::close(fd);
    ::shm_unlink(n.c_str());
    return err;
  }
  auto addr = map_fd(fd, size, n);
  if (!addr) {
    ::shm_unlink(n.c_str());
    return addr.error();
  }
  shm_segment seg;
  seg.name_ = n;
  seg.addr_ = *addr;
  seg.size_ = size;
  seg.owner_ = true;
  seg.dev_ = st.st_dev;
  seg.ino_ = st.st_ino;
  return seg;
}

caf::expected<shm_segment> shm_segment::open(const std::string& name) {
  auto n = slashed(name);
  auto fd = ::shm_open(n.c_str(), O_RDWR | O_CLOEXEC, 0);
  if (fd < 0)
    return sys_error("shm_open", n);
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    auto err = sys_error("fstat", n);
    ::close(fd);
    return err;
  }
  if (auto err = check_owner(st, n)) {
    ::close(fd);
    return err;
  }
  auto size = static_cast<size_t>(st.st_size);
  if (size < sizeof(shm_segment_header)) {
    ::close(fd);
    return make_error(errc::bad_config,
                      "shm segment " + n + " is too small (" + std::to_string(size) + " bytes)");
  }
  auto addr = map_fd(fd, size, n);
  if (!addr)
    return addr.error();
  shm_segment seg;
  seg.name_ = n;
  seg.addr_ = *addr;
  seg.size_ = size;
  seg.dev_ = st.st_dev;
  seg.ino_ = st.st_ino;
  return seg;
}

bool shm_segment::name_still_ours() const {
  struct stat st;
  if (name_.empty() || ::stat(("/dev/shm" + name_).c_str(), &st) != 0)
    return false;
  return st.st_dev == dev_ && st.st_ino == ino_;
}

caf::expected<shm_segment> shm_segment::attach(const std::string& name, uint32_t kind) {
  auto seg = open(name);
  if (!seg)
    return seg;
  auto* h = seg->header();
  auto fail = [&](const std::string& what) {
    return make_error(errc::bad_config, "shm segment " + seg->name() + ": " + what);
  };
  if (h->ready.load(std::memory_order_acquire) != 1)
    return fail("not initialized (creator still starting or died)");
  if (h->magic != shm_segment_header::magic_value)
    return fail("bad magic number (not a Troupe segment)");
  if (h->version != shm_segment_header::layout_version)
    return fail("layout version " + std::to_string(h->version) + ", expected "
                + std::to_string(shm_segment_header::layout_version));
  if (h->kind != kind)
    return fail("kind " + std::to_string(h->kind) + ", expected " + std::to_string(kind));
  if (h->total_size != seg->size())
    return fail("size " + std::to_string(seg->size()) + " differs from the header's "
                + std::to_string(h->total_size));
  return seg;
}

void shm_segment::init_header(uint32_t kind, uint64_t ring_capacity) {
  auto* h = header();
  h->magic = shm_segment_header::magic_value;
  h->version = shm_segment_header::layout_version;
  h->kind = kind;
  h->total_size = size_;
  h->ring_capacity = ring_capacity;
  h->creator_pid = static_cast<int32_t>(::getpid());
  h->attacher_pid.store(0, std::memory_order_relaxed);
  h->ready.store(1, std::memory_order_release);
}

bool process_alive(pid_t pid) {
  if (pid <= 0)
    return false;
  return ::kill(pid, 0) == 0 || errno == EPERM;
}

std::string shm_name_part(const std::string& x) {
  std::string out = x;
  for (auto& c : out)
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_'
          || c == '-'))
      c = '_';
  return out;
}

std::string shm_short_name(const std::string& x, size_t max) {
  if (x.size() <= max)
    return x;
  uint64_t h = 14695981039346656037ull; // FNV-1a
  for (unsigned char c : x)
    h = (h ^ c) * 1099511628211ull;
  char hex[17];
  std::snprintf(hex, sizeof(hex), "%016llx", static_cast<unsigned long long>(h));
  return x.substr(0, max - 17) + "-" + hex;
}

caf::expected<std::vector<std::string>> list_segments(const std::string& prefix) {
  auto* dir = ::opendir("/dev/shm");
  if (dir == nullptr)
    return sys_error("opendir", "/dev/shm");
  std::vector<std::string> out;
  while (auto* e = ::readdir(dir)) {
    std::string n = e->d_name;
    if (n.compare(0, prefix.size(), prefix) == 0)
      out.push_back(std::move(n));
  }
  ::closedir(dir);
  return out;
}

caf::expected<size_t> remove_stale_segments(const std::string& prefix) {
  auto names = list_segments(prefix);
  if (!names)
    return names.error();
  size_t removed = 0;
  for (auto& n : *names) {
    auto seg = shm_segment::open(n);
    if (!seg)
      continue;
    auto* h = seg->header();
    // Only judge segments that are certainly ours and fully built; a creator between shm_open
    // and init_header is alive by definition and will finish.
    if (h->ready.load(std::memory_order_acquire) != 1
        || h->magic != shm_segment_header::magic_value)
      continue;
    auto attacher = h->attacher_pid.load(std::memory_order_acquire);
    if (process_alive(h->creator_pid) || (attacher != 0 && process_alive(attacher)))
      continue;
    seg->unlink();
    ++removed;
  }
  return removed;
}

} // namespace troupe::bridges
