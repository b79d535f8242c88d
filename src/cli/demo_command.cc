#include "cli/commands.h"
namespace glassbox::cli {
void add_demo_command(CLI::App& app, int& exit_status) { (void)app; (void)exit_status; }
}
