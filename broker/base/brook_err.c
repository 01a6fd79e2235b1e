/* brook_err.c — names and texts of brook_err_t, from the one BROOK_ERR_LIST. */
#include "brook_err.h"

const char *brook_err_name(brook_err_t err) {
  switch (err) {
#define BROOK_ERR_NAME_(name, code, text) \
  case BROOK_ERR_##name:                  \
    return #name;
    BROOK_ERR_LIST(BROOK_ERR_NAME_)
#undef BROOK_ERR_NAME_
  }
  return "UNKNOWN_ERROR_CODE";
}

const char *brook_err_str(brook_err_t err) {
  switch (err) {
#define BROOK_ERR_TEXT_(name, code, text) \
  case BROOK_ERR_##name:                  \
    return text;
    BROOK_ERR_LIST(BROOK_ERR_TEXT_)
#undef BROOK_ERR_TEXT_
  }
  return "Unknown error code";
}
