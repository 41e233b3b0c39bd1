/* The single translation unit that compiles stb_image (third-party code, built
 * with warnings off by engine/CMakeLists.txt). Only the formats cnnserve
 * accepts are compiled in, and only decoding from memory. */
#define STB_IMAGE_IMPLEMENTATION
#define STBI_ONLY_JPEG
#define STBI_ONLY_PNG
#define STBI_ONLY_BMP
#define STBI_NO_STDIO
#define STBI_NO_LINEAR
#define STBI_NO_HDR
#define STBI_FAILURE_USERMSG
#include <stb_image.h>
