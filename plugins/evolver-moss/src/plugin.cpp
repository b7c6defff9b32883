// The evolver-moss plugin's entry: one Evolver that works through the host's LLM backend.
#include <moss/sdk/sdk.hpp>

#include "moss_evolver.hpp"

MOSS_PLUGIN("evolver-moss", "0.2.0",
            R"({"type":"object","properties":{
                  "prompt_dir":{"type":"string","default":"",
                    "description":"Directory with analyze.txt and propose.txt, read at each call (relative: to the config file); empty: the built-in prompts"},
                  "max_reply_bytes":{"type":"integer","minimum":1,"maximum":16777216,"default":262144,
                    "description":"A longer LLM reply is refused as invalid_reply"},
                  "temperature":{"type":"number","minimum":0,"maximum":2,"default":0,
                    "description":"Sampling temperature of the analyze and propose requests"},
                  "max_tokens":{"type":"integer","minimum":0,"maximum":1000000,"default":0,
                    "description":"Completion token limit of the requests; 0: the backend's default"}},
                "additionalProperties":false})",
            moss::sdk::as_evolver<moss::plugins::MossEvolver>)
