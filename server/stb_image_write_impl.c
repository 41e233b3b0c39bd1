/* The single translation unit that compiles stb_image_write (third-party
 * code, built with warnings off by server/CMakeLists.txt): PNG encoding of
 * feature-map grids, to memory only. */
#define STB_IMAGE_WRITE_IMPLEMENTATION
#define STBI_WRITE_NO_STDIO
#include <stb/stb_image_write.h>
