// The markov-planner plugin's entry: one Planner with IdleSpec's speculation limits.
#include <moss/sdk/sdk.hpp>

#include "markov_planner.hpp"

MOSS_PLUGIN("markov-planner", "1.0.0",
            R"({"type":"object","properties":{
                  "max_speculations":{"type":"integer","minimum":1,"maximum":1000,"default":3,
                    "description":"Predictions returned when the caller does not say how many"},
                  "min_confidence":{"type":"number","minimum":0,"maximum":1,"default":0.6,
                    "description":"Lowest confidence returned when the caller does not say"}},
                "additionalProperties":false})",
            moss::sdk::as_planner<moss::plugins::MarkovPlanner>)
