import ArgumentParser
import Foundation

struct BashCompletionCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bash-completion",
        abstract: "Print the bash completion script: eval \"$(pgarchive bash-completion)\".",
        discussion: """
            Add `eval "$(pgarchive bash-completion)"` to ~/.bashrc, or install the output (also \
            shipped as completions/pgarchive.bash) into /etc/bash_completion.d/. Commands, options \
            and snapshot, clone and restore point names complete; names come from the container \
            given on the line with -C/--container, else from $PGARCHIVE.

            Examples:
              eval "$(pgarchive bash-completion)"
            """)

    func run() throws {
        print(BashCompletionScript.text, terminator: "")
    }
}

/// The bash script swift-argument-parser generates for the command tree, registered through
/// a wrapper that fixes two ways bash's word splitting (COMP_WORDBREAKS) defeats it:
///
/// - Snapshot names are UTC times (`2026-11-21T08:15:00Z`) and bash splits words at `:`,
///   so the generated functions would see `2026-11-21T08` `:` `15` and readline replaces
///   only the text after the last colon. The wrapper joins such words again (as
///   bash-completion's `_get_comp_words_by_ref -n :` does), completes on the joined words,
///   then trims from each candidate the part before the last colon, which stays on the line
///   (`__ltrim_colon_completions`). Candidates with colons that are not paths are inserted
///   without filename quoting (no `\:`).
/// - bash splits `--container=PATH` into `--container` `=` `PATH`, which the generated
///   functions count as a positional argument. The wrapper makes it `--container` `PATH`
///   (and the `=` a blank in its copy of COMP_LINE, so positions stay), which they
///   understand, values after `=` included.
enum BashCompletionScript {
    static let generatedRegistration = "complete -o filenames -F _pgarchive pgarchive"

    static var text: String {
        var script = PGArchiveCommand.completionScript(for: .bash)
        if !script.hasSuffix("\n") { script += "\n" }
        guard let range = script.range(of: generatedRegistration + "\n", options: .backwards) else {
            // A future swift-argument-parser that registers differently: keep its script as is.
            return script
        }
        script.replaceSubrange(range, with: wrapper + "complete -o filenames -F __pgarchive_complete pgarchive\n")
        return script
    }

    static let wrapper = #"""
        # pgarchive: bash splits words at ':' and '=' (COMP_WORDBREAKS). Join the pieces of
        # names with colons (snapshot names are UTC times), make --option=value two words,
        # complete, then trim what stays on the line before the last colon.
        __pgarchive_complete() {
            local -a __pgarchive_words=()
            local -i __pgarchive_cword=0 __pgarchive_i __pgarchive_offset
            local COMP_LINE="${COMP_LINE}"
            local __pgarchive_line="${COMP_LINE}" __pgarchive_word __pgarchive_spaced __pgarchive_last
            local __pgarchive_colons=false __pgarchive_glue=false __pgarchive_cur_prefix=""
            for ((__pgarchive_i = 0; __pgarchive_i < ${#COMP_WORDS[@]}; __pgarchive_i++)); do
                __pgarchive_word="${COMP_WORDS[__pgarchive_i]}"
                __pgarchive_spaced=false
                while [[ "${__pgarchive_line}" == [[:blank:]]* ]]; do
                    __pgarchive_line="${__pgarchive_line:1}"
                    __pgarchive_spaced=true
                done
                __pgarchive_offset=$((${#COMP_LINE} - ${#__pgarchive_line}))
                __pgarchive_line="${__pgarchive_line#"${__pgarchive_word}"}"
                __pgarchive_last=""
                ((${#__pgarchive_words[@]})) && __pgarchive_last="${__pgarchive_words[${#__pgarchive_words[@]} - 1]}"
                if ((__pgarchive_i > 0)) && ! "${__pgarchive_spaced}" && [[ "${__pgarchive_word}" == "=" && "${__pgarchive_last}" == -* ]]; then
                    # --option=value: the value becomes a word of its own.
                    COMP_LINE="${COMP_LINE:0:__pgarchive_offset} ${COMP_LINE:__pgarchive_offset + 1}"
                    __pgarchive_words+=("")
                    __pgarchive_glue=true
                    __pgarchive_colons=false
                    if ((__pgarchive_i == COMP_CWORD)); then
                        __pgarchive_cword=$((${#__pgarchive_words[@]} - 1))
                        __pgarchive_cur_prefix=""
                    fi
                    continue
                fi
                local __pgarchive_previous_colons="${__pgarchive_colons}"
                __pgarchive_colons=false
                [[ -n "${__pgarchive_word}" && -z "${__pgarchive_word//:/}" ]] && __pgarchive_colons=true
                if ((__pgarchive_i > 0)) && ! "${__pgarchive_spaced}" && { "${__pgarchive_colons}" || "${__pgarchive_previous_colons}" || "${__pgarchive_glue}"; }; then
                    ((__pgarchive_i == COMP_CWORD)) && __pgarchive_cur_prefix="${__pgarchive_last}"
                    __pgarchive_words[${#__pgarchive_words[@]} - 1]+="${__pgarchive_word}"
                else
                    ((__pgarchive_i == COMP_CWORD)) && __pgarchive_cur_prefix=""
                    __pgarchive_words+=("${__pgarchive_word}")
                fi
                __pgarchive_glue=false
                ((__pgarchive_i == COMP_CWORD)) && __pgarchive_cword=$((${#__pgarchive_words[@]} - 1))
            done
            local __pgarchive_cur="${__pgarchive_cur_prefix}${2}"
            local __pgarchive_current="${COMP_WORDS[COMP_CWORD]}"
            [[ -n "${__pgarchive_current}" && -z "${__pgarchive_current//:/}" ]] && __pgarchive_cur="${__pgarchive_cur_prefix}${__pgarchive_current}"
            local __pgarchive_prev=""
            ((__pgarchive_cword > 0)) && __pgarchive_prev="${__pgarchive_words[__pgarchive_cword - 1]}"

            local -a COMP_WORDS=("${__pgarchive_words[@]}")
            local COMP_CWORD="${__pgarchive_cword}"
            _pgarchive "${1}" "${__pgarchive_cur}" "${__pgarchive_prev}"

            if [[ "${__pgarchive_cur}" == *:* && "${COMP_WORDBREAKS}" == *:* ]]; then
                local __pgarchive_colon_prefix="${__pgarchive_cur%"${__pgarchive_cur##*:}"}"
                for ((__pgarchive_i = 0; __pgarchive_i < ${#COMPREPLY[@]}; __pgarchive_i++)); do
                    COMPREPLY[__pgarchive_i]="${COMPREPLY[__pgarchive_i]#"${__pgarchive_colon_prefix}"}"
                done
            fi
            local __pgarchive_reply __pgarchive_names=false
            for __pgarchive_reply in "${COMPREPLY[@]}"; do
                [[ -e "${__pgarchive_reply}" ]] && return 0
                [[ "${__pgarchive_cur}${__pgarchive_reply}" == *:* ]] && __pgarchive_names=true
            done
            "${__pgarchive_names}" && compopt +o filenames 2>/dev/null
            return 0
        }


        """#
}
