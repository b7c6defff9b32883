// The llm-replay plugin's entry: one LLMBackend answering from a file of recorded exchanges.
#include <moss/sdk/sdk.hpp>

#include "llm_replay.hpp"

MOSS_PLUGIN("llm-replay", "1.0.0",
            R"({"type":"object","properties":{
                  "file":{"type":"string","minLength":1,
                    "description":"JSONL file of recorded exchanges, loaded at init"},
                  "mode":{"type":"string","enum":["match","sequence"],"default":"match",
                    "description":"match: first unused record whose match occurs in the last user message; sequence: records in order"},
                  "price_per_1k_prompt":{"type":"number","minimum":0,"default":0,
                    "description":"USD per 1000 prompt tokens, for the reported cost"},
                  "price_per_1k_completion":{"type":"number","minimum":0,"default":0,
                    "description":"USD per 1000 completion tokens, for the reported cost"}},
                "required":["file"],"additionalProperties":false})",
            moss::sdk::as_llm_backend<moss::plugins::LlmReplay>)
