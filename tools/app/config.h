#pragma once
// The whole configuration of a run: the run settings (tools/app/run_settings.h) and training's own
// section, composed from several YAML files and --set overrides.
#include <string>
#include <vector>

#include "models/training/train_config.h"
#include "tools/app/run_settings.h"

namespace seqzoo {

struct Config : RunSettings {
  TrainConfig train;

  void visit(FieldVisitor& v);
};

// Parses YAML text (`origin` names it in errors) onto the defaults, then applies overrides
// "section.key=value" (each named "--set ..." in its errors), expands run_dir and validates.
// model.family must be set. std::invalid_argument naming origin:line and the full key.
Config parse_config(const std::string& yaml_text, const std::string& origin,
                    const std::vector<std::string>& overrides = {});
// Reads the files in turn, later ones overriding earlier ones key by key (Marian's -c a.yml b.yml),
// then the overrides. A missing file or a directory is a std::runtime_error naming it.
Config load_config(const std::vector<std::string>& paths, const std::vector<std::string>& overrides = {});
Config load_config(const std::string& path, const std::vector<std::string>& overrides = {});
// The resolved config as YAML; with comments each key carries its doc, choices and range.
std::string dump_config(const Config& config, bool comments = true);
// Ranges and cross-field checks of every section (std::invalid_argument naming the key).
void validate_config(const Config& config);

}  // namespace seqzoo
