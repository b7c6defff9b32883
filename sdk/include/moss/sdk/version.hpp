// ABI version and toolchain tag of the moss plugin SDK.
// The host refuses a plugin whose ABI major differs from its own or whose minor is newer.
#pragma once

#include <cstdint>

// ABI policy (see sdk/README.md):
// - major: bumped when anything that crosses the boundary changes incompatibly
//   (a virtual removed or reordered, a struct field removed, reordered or retyped).
// - minor: bumped when something is appended (a virtual at the end of an interface,
//   a field at the end of the descriptor). A host at minor N loads plugins built
//   at minors 0..N and never calls a virtual newer than the plugin's minor.
#define MOSS_SDK_ABI_MAJOR 1
#define MOSS_SDK_ABI_MINOR 0

// The SDK passes std::string and std::vector across the boundary, so the C++
// ABI and the standard library's ABI must match. The compiler itself does not
// matter: GCC and Clang share the Itanium C++ ABI.
#if defined(_LIBCPP_VERSION)
#define MOSS_SDK_STDLIB_TAG "libc++"
#elif defined(__GLIBCXX__) && defined(_GLIBCXX_USE_CXX11_ABI) && _GLIBCXX_USE_CXX11_ABI
#define MOSS_SDK_STDLIB_TAG "libstdc++-cxx11"
#elif defined(__GLIBCXX__)
#define MOSS_SDK_STDLIB_TAG "libstdc++-cow"
#else
#error "moss SDK: unsupported C++ standard library (need libstdc++ or libc++)"
#endif

#if defined(__x86_64__)
#define MOSS_SDK_ARCH_TAG "x86_64"
#elif defined(__aarch64__)
#define MOSS_SDK_ARCH_TAG "aarch64"
#else
#define MOSS_SDK_ARCH_TAG "other"
#endif

// For example "itanium/libstdc++-cxx11/x86_64".
#define MOSS_SDK_TOOLCHAIN "itanium/" MOSS_SDK_STDLIB_TAG "/" MOSS_SDK_ARCH_TAG

namespace moss::sdk {

inline constexpr std::uint16_t kAbiMajor = MOSS_SDK_ABI_MAJOR;
inline constexpr std::uint16_t kAbiMinor = MOSS_SDK_ABI_MINOR;
inline constexpr const char* kToolchain = MOSS_SDK_TOOLCHAIN;

}  // namespace moss::sdk
