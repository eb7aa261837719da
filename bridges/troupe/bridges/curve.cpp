#include "troupe/bridges/curve.hpp"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <zmq.h>

#include "troupe/errc.hpp"

namespace troupe::bridges {

namespace {

caf::error fail(const std::string& path, const std::string& why) {
  return make_error(errc::bad_config, "curve key file " + path + ": " + why);
}

bool z85_key(const std::string& x) {
  if (x.size() != 40)
    return false;
  uint8_t bin[32];
  return zmq_z85_decode(bin, x.c_str()) != nullptr;
}

} // namespace

bool curve_available() {
  return zmq_has("curve") != 0;
}

caf::error write_curve_key_file(const std::string& path) {
  if (!curve_available())
    return make_error(errc::system_error, "this libzmq was built without CURVE support");
  char pub[41];
  char sec[41];
  if (zmq_curve_keypair(pub, sec) != 0)
    return make_error(errc::system_error, std::string{"zmq_curve_keypair: "} + zmq_strerror(errno));
  auto fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0)
    return fail(path,
                std::strerror(errno) + std::string{errno == EEXIST ? " (not overwritten)" : ""});
  ::fchmod(fd, 0600); // whatever the umask
  auto text = std::string{"# Troupe CURVE key pair: keep it secret (mode 0600)\npublic = \""} + pub
              + "\"\nsecret = \"" + sec + "\"\n";
  auto n = ::write(fd, text.data(), text.size());
  ::close(fd);
  if (n != static_cast<ssize_t>(text.size()))
    return fail(path, "short write");
  return caf::none;
}

caf::expected<curve_keys> read_curve_key_file(const std::string& path) {
  auto fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0)
    return fail(path, std::strerror(errno));
  struct stat st;
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size > 4096) {
    ::close(fd);
    return fail(path, "not a regular key file");
  }
  if (st.st_uid != ::geteuid()) {
    ::close(fd);
    return fail(path, "belongs to uid " + std::to_string(st.st_uid) + ", not to this user");
  }
  if ((st.st_mode & 0077) != 0) {
    ::close(fd);
    char mode[8];
    std::snprintf(mode, sizeof(mode), "%04o", static_cast<unsigned>(st.st_mode & 07777));
    return fail(path,
                std::string{"mode "} + mode + " lets other users read the secret (chmod 600)");
  }
  std::string text(static_cast<size_t>(st.st_size), '\0');
  auto n = ::read(fd, text.data(), text.size());
  ::close(fd);
  if (n != static_cast<ssize_t>(text.size()))
    return fail(path, "short read");
  curve_keys keys;
  std::istringstream in{text};
  std::string line;
  while (std::getline(in, line)) {
    auto value = [&](const char* key) -> std::string* {
      auto k = std::string{key} + " = \"";
      if (line.rfind(k, 0) != 0 || line.size() < k.size() + 1 || line.back() != '"')
        return nullptr;
      static thread_local std::string v;
      v = line.substr(k.size(), line.size() - k.size() - 1);
      return &v;
    };
    if (auto v = value("public"))
      keys.public_key = *v;
    else if (auto w = value("secret"))
      keys.secret_key = *w;
  }
  if (!z85_key(keys.public_key) || !z85_key(keys.secret_key))
    return fail(path, "expected lines public = \"...\" and secret = \"...\" with 40-character "
                      "Z85 keys (write one with troupe keys FILE)");
  return keys;
}

} // namespace troupe::bridges
