// The llm-openai plugin's entry: one LLMBackend for OpenAI-compatible chat-completions servers.
#include <moss/sdk/sdk.hpp>

#include "llm_openai.hpp"

MOSS_PLUGIN("llm-openai", "1.0.0",
            R"({"type":"object","properties":{
                  "base_url":{"type":"string","pattern":"^[Hh][Tt][Tt][Pp][Ss]?://[^/]",
                    "default":"http://127.0.0.1:8080/v1",
                    "description":"API root; requests go to base_url + /chat/completions"},
                  "model":{"type":"string","default":"",
                    "description":"model used when a request names none; empty: the server's choice"},
                  "api_key_env":{"type":"string","pattern":"^([A-Za-z_][A-Za-z0-9_]*)?$","default":"",
                    "description":"name of the environment variable holding the API key; empty: no Authorization header"},
                  "timeout_ms":{"type":"integer","minimum":1,"maximum":3600000,"default":60000,
                    "description":"limit for one HTTP attempt, from connect to the last byte"},
                  "connect_timeout_ms":{"type":"integer","minimum":1,"maximum":600000,"default":5000,
                    "description":"limit for connecting (DNS, TCP and TLS) in one attempt"},
                  "max_retries":{"type":"integer","minimum":0,"maximum":10,"default":3,
                    "description":"extra attempts after 429, 5xx or a failed connection"},
                  "retry_backoff_ms":{"type":"integer","minimum":0,"maximum":60000,"default":500,
                    "description":"delay before the first retry, doubled each retry, with jitter"},
                  "price_per_1k_prompt":{"type":"number","minimum":0,"default":0,
                    "description":"USD per 1000 prompt tokens, for the reported cost"},
                  "price_per_1k_completion":{"type":"number","minimum":0,"default":0,
                    "description":"USD per 1000 completion tokens, for the reported cost"},
                  "stream":{"type":"boolean","default":false,
                    "description":"stream (SSE) every request, not only those that ask for it"}},
                "additionalProperties":false})",
            moss::sdk::as_llm_backend<moss::plugins::LlmOpenAi>)
