// The evolver-moss plugin's entry: one Evolver that works through the host's LLM backend.
#include <moss/sdk/sdk.hpp>

#include "moss_evolver.hpp"

MOSS_PLUGIN("evolver-moss", "0.1.0",
            R"({"type":"object","properties":{
                  "prompt_dir":{"type":"string","default":"",
                    "description":"Directory with analyze.txt and propose.txt, read at each call; empty: built-in prompts"}},
                "additionalProperties":false})",
            moss::sdk::as_evolver<moss::plugins::MossEvolver>)
