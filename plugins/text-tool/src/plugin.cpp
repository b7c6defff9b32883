// The text-tool plugin's entry: one Tool, configured by max_input_bytes.
#include <moss/sdk/sdk.hpp>

#include "text_tool.hpp"

MOSS_PLUGIN("text-tool", "1.0.0",
            R"({"type":"object","properties":{
                  "max_input_bytes":{"type":"integer","minimum":1,"default":1048576,
                    "description":"Longest accepted text, in bytes; longer inputs are refused"}},
                "additionalProperties":false})",
            moss::sdk::as_tool<moss::plugins::TextTool>)
