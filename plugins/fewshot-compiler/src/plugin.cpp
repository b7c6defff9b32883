// The fewshot-compiler plugin's entry: one Compiler that distils traces into a few-shot call.
#include <moss/sdk/sdk.hpp>

#include "fewshot_compiler.hpp"

MOSS_PLUGIN("fewshot-compiler", "1.0.0",
            R"({"type":"object","properties":{
                  "max_examples":{"type":"integer","minimum":1,"maximum":1000,"default":8,
                    "description":"Examples kept when CompileOptions.max_examples is 0"}},
                "additionalProperties":false})",
            moss::sdk::as_compiler<moss::plugins::FewShotCompiler>)
