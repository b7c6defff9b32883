// LoadedVersion: object creation pins the version, so a crash in a plugin's constructor or
// init is attributed to it.
#include "runtime/loaded_version.hpp"

#include "runtime/lease.hpp"

namespace moss {

LoadedVersion::LoadedVersion(std::string instance, std::int64_t version_id,
                             std::shared_ptr<Library> library)
    : instance_(std::move(instance)),
      version_id_(version_id),
      library_(std::move(library)),
      call_site_(instance_, library_->sha256(), library_->label()) {}

Status LoadedVersion::create_objects(const sdk::InitContext& context) {
  for (sdk::Kind kind : sdk::kAllKinds) {
    if (!manifest().implements(kind)) continue;
    Lease pin(*this, "create and init");
    auto object = library_->create(kind);
    if (!object.ok()) return object.status();
    Status init = object.value()->init(context);
    if (!init.ok()) {
      return Status(init.code(), library_->label() + ": " + sdk::kind_name(kind) +
                                     " init failed: " + init.message());
    }
    objects_[kind_index(kind)] = std::move(object.value());
  }
  return Status();
}

}  // namespace moss
