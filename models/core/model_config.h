#pragma once
// The model section of a config (`model:`): the fields every family shares, and the families' own
// option sections (model.rnn, model.attention, model.transformer, ...), which each family declares
// beside its code. Which families and sections exist is decided by the registry
// (models/registry.h, default_model_config()); this file knows none of them.
#include <cstdint>
#include <memory>
#include <string>
#include <typeindex>
#include <vector>

#include "data/common/config_fields.h"

namespace seqzoo {

// A family's option section. Implemented by OptionSectionOf<T> for a struct T with
//   static constexpr const char* kSection (its key under model:), kDoc,
//   void visit(FieldVisitor&), void check() const.
class OptionSection {
 public:
  virtual ~OptionSection() = default;
  virtual const char* key() const = 0;
  virtual const char* doc() const = 0;
  virtual std::type_index type() const = 0;
  virtual void visit(FieldVisitor& v) = 0;
  virtual void check() const = 0;
  virtual std::unique_ptr<OptionSection> clone() const = 0;
};

template <class T>
class OptionSectionOf : public OptionSection {
 public:
  T value;
  const char* key() const override { return T::kSection; }
  const char* doc() const override { return T::kDoc; }
  std::type_index type() const override { return typeid(T); }
  void visit(FieldVisitor& v) override { value.visit(v); }
  void check() const override { value.check(); }
  std::unique_ptr<OptionSection> clone() const override { return std::make_unique<OptionSectionOf<T>>(*this); }
};

struct ModelConfig {
  std::string family = "transformer";
  int64_t embed_dim = 256;
  double dropout = 0.1;
  bool tie_embeddings = true;
  double init_range = 0.1;
  // The registered family names (the choices of `family`; empty = not checked here).
  std::vector<std::string> families;

  ModelConfig() = default;
  ModelConfig(const ModelConfig& other);
  ModelConfig& operator=(const ModelConfig& other);
  ModelConfig(ModelConfig&&) = default;
  ModelConfig& operator=(ModelConfig&&) = default;

  // Adds section T (a no-op when present); sections appear in the config in the order added.
  template <class T>
  T& add_options() {
    if (OptionSection* s = find(typeid(T))) return static_cast<OptionSectionOf<T>*>(s)->value;
    sections_.push_back(std::make_unique<OptionSectionOf<T>>());
    return static_cast<OptionSectionOf<T>*>(sections_.back().get())->value;
  }
  // A family's options (added with their defaults on first use).
  template <class T>
  T& options() { return add_options<T>(); }
  template <class T>
  const T& options() const {
    static const T defaults{};
    const OptionSection* s = find(typeid(T));
    return s ? static_cast<const OptionSectionOf<T>*>(s)->value : defaults;
  }

  // The keys of the option sections present, in order ("rnn", "attention", ...).
  std::vector<std::string> section_keys() const;

  void visit(FieldVisitor& v);
  // Every section's own cross-field checks (ranges are checked by check_config_ranges).
  void check() const;

 private:
  OptionSection* find(std::type_index type) const;
  std::vector<std::unique_ptr<OptionSection>> sections_;
};

}  // namespace seqzoo
