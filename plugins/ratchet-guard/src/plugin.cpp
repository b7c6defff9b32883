// The ratchet-guard plugin's entry: one Guard with the seed's Ratchet parameters.
#include <moss/sdk/sdk.hpp>

#include "ratchet_guard.hpp"

MOSS_PLUGIN("ratchet-guard", "1.0.0",
            R"({"type":"object","properties":{
                  "initial_score":{"type":"number","exclusiveMinimum":0,"maximum":1,"default":0.8,
                    "description":"The ratchet point before any score is recorded"},
                  "threshold":{"type":"number","exclusiveMinimum":0,"maximum":1,"default":0.95,
                    "description":"score/point at or above it is WARNING (allowed), below is CRITICAL"},
                  "window_size":{"type":"integer","minimum":1,"maximum":100000,"default":10,
                    "description":"Scores covered by the recent avg/min; the history keeps twice as many"},
                  "lock_threshold":{"type":"integer","minimum":1,"maximum":1000000,"default":3,
                    "description":"Consecutive degradations that lock the guard"},
                  "lock_duration_s":{"type":"number","minimum":0,"maximum":1e9,"default":300,
                    "description":"How long a lock lasts, in seconds"},
                  "baseline_policy":{"type":"string","enum":["max","ema"],"default":"max",
                    "description":"How a NOMINAL score moves the point: max(point, score) or an EMA"},
                  "ema_alpha":{"type":"number","exclusiveMinimum":0,"maximum":1,"default":0.1,
                    "description":"ema only: point = (1 - ema_alpha) * point + ema_alpha * score"}},
                "additionalProperties":false})",
            moss::sdk::as_guard<moss::plugins::RatchetGuard>)
